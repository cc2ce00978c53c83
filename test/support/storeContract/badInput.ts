import type { EventData, EventStore } from '../../../src/store/types.js';
import { MAX_EVENT_BYTES } from '../../../src/store/types.js';
import { collect, openFor, uniqueStream, type Contract } from './harness.js';

interface BadAppend {
  title: string;
  code: string;
  /** Returns the append to attempt; `stream` is a valid, unused stream id. */
  append: (store: EventStore, stream: string) => Promise<unknown>;
}

const ok: EventData = { type: 'Tested', data: { fine: true } };
const cyclic: Record<string, unknown> = { a: 1 };
cyclic['self'] = cyclic;
const half = 'x'.repeat(MAX_EVENT_BYTES / 2);

const badAppends: BadAppend[] = [
  { title: 'an empty stream name', code: 'invalid_stream_name', append: (s) => s.appendToStream('', ok) },
  { title: 'a stream name starting with $', code: 'invalid_stream_name', append: (s) => s.appendToStream('$system', ok) },
  { title: 'a stream name with a newline', code: 'invalid_stream_name', append: (s) => s.appendToStream('flow-1\nforged', ok) },
  { title: 'a stream name with a NUL', code: 'invalid_stream_name', append: (s) => s.appendToStream('flow-\u0000', ok) },
  { title: 'a stream name over 512 characters', code: 'invalid_stream_name', append: (s) => s.appendToStream('s'.repeat(513), ok) },
  { title: 'a stream name that is not a string', code: 'invalid_stream_name', append: (s) => s.appendToStream(42 as unknown as string, ok) },
  { title: 'an empty event type', code: 'invalid_argument', append: (s, st) => s.appendToStream(st, { type: '', data: {} }) },
  { title: 'an event type over 256 characters', code: 'invalid_argument', append: (s, st) => s.appendToStream(st, { type: 't'.repeat(257), data: {} }) },
  { title: 'an event id that is not a UUID', code: 'invalid_argument', append: (s, st) => s.appendToStream(st, { ...ok, id: 'not-a-uuid' }) },
  { title: 'a function in data', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: { f: () => 1 } }) },
  { title: 'a bigint in data', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: { n: 1n } }) },
  { title: 'a cycle in data', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: cyclic }) },
  { title: 'undefined data', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: undefined }) },
  { title: 'NaN in metadata', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: {}, metadata: { n: Number.NaN } }) },
  { title: 'a function as metadata', code: 'event_not_serializable', append: (s, st) => s.appendToStream(st, { type: 'T', data: {}, metadata: () => 1 }) },
  {
    title: 'data over 1 MiB',
    code: 'event_too_large',
    append: (s, st) => s.appendToStream(st, { type: 'T', data: { blob: 'x'.repeat(MAX_EVENT_BYTES) } }),
  },
  {
    title: 'data and metadata over 1 MiB together',
    code: 'event_too_large',
    append: (s, st) => s.appendToStream(st, { type: 'T', data: { half }, metadata: { half } }),
  },
  {
    title: 'multi-byte text over 1 MiB in UTF-8 but not in characters',
    code: 'event_too_large',
    append: (s, st) => s.appendToStream(st, { type: 'T', data: 'é'.repeat(MAX_EVENT_BYTES / 2 + 10) }),
  },
  {
    title: 'one bad event in the middle of a batch',
    code: 'event_not_serializable',
    append: (s, st) => s.appendToStream(st, [ok, { type: 'T', data: { n: 2n } }, ok]),
  },
  { title: 'a negative expected revision', code: 'invalid_expected_revision', append: (s, st) => s.appendToStream(st, ok, { expectedRevision: -1n }) },
  {
    title: 'a number as expected revision',
    code: 'invalid_expected_revision',
    append: (s, st) => s.appendToStream(st, ok, { expectedRevision: 0 as unknown as bigint }),
  },
  {
    title: 'an unknown expected revision word',
    code: 'invalid_expected_revision',
    append: (s, st) => s.appendToStream(st, ok, { expectedRevision: 'latest' as unknown as bigint }),
  },
];

export function badInputCases({ test, name, factory }: Contract): void {
  for (const bad of badAppends) {
    test(`${name}: ${bad.title} is rejected with ${bad.code} and writes nothing`, async (t) => {
      const store = await openFor(t, factory);
      const stream = uniqueStream();
      await store.appendToStream(uniqueStream(), ok);
      const head = await store.headPosition();
      await t.throwsAsync(bad.append(store, stream), { code: bad.code });
      t.deepEqual(await store.headPosition(), head);
      await t.throwsAsync(collect(store.readStream(stream)), { code: 'stream_not_found' });
    });
  }

  test(`${name}: boundary values are accepted`, async (t) => {
    const store = await openFor(t, factory);
    const longName = `b${'s'.repeat(509)}-1`;
    await store.appendToStream(longName, { type: 't'.repeat(256), data: { blob: 'x'.repeat(MAX_EVENT_BYTES - 1024) } });
    t.is(longName.length, 512);
    const [event] = await collect(store.readStream(longName));
    t.is(event!.type.length, 256);
    t.is((event!.data as { blob: string }).blob.length, MAX_EVENT_BYTES - 1024);
  });
}
