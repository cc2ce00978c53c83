import { randomUUID } from 'node:crypto';
import { WrongExpectedVersionError } from '../../../src/store/errors.js';
import type { StreamAppend } from '../../../src/store/types.js';
import { collect, events, openFor, readAllOf, revisions, uniqueStream, type Contract } from './harness.js';

/**
 * `appendToStreams`: several streams in order, each at its own expected revision. What every
 * adapter guarantees: per-part results, validation of every part before any write, and nothing
 * after the first failing part. Atomicity (nothing at all when a part fails) is a capability.
 */
export function multiStreamCases({ test, name, factory, capabilities }: Contract): void {
  test(`${name}: appendToStreams writes each part at its expected revision, in order`, async (t) => {
    const store = await openFor(t, factory);
    const a = uniqueStream();
    const b = uniqueStream();
    await store.appendToStream(a, events(2));
    const results = await store.appendToStreams([
      { streamId: a, events: events(1, 'Tested', 2), expectedRevision: 1n },
      { streamId: b, events: events(2), expectedRevision: 'no_stream' },
    ]);
    t.deepEqual(results.map((r) => r.nextExpectedRevision), [2n, 1n]);
    t.true(results[1]!.position.commit > results[0]!.position.commit, 'later parts come later in $all');
    t.deepEqual(revisions(await collect(store.readStream(a))), [0n, 1n, 2n]);
    t.deepEqual((await collect(store.readStream(b))).map((e) => (e.data as { n: number }).n), [0, 1]);
    const all = await readAllOf(store, [a, b]);
    t.deepEqual(all.map((e) => e.streamId), [a, a, a, b, b]);
  });

  test(`${name}: appendToStreams stops at a conflicting part and names its stream`, async (t) => {
    const store = await openFor(t, factory);
    const a = uniqueStream();
    const b = uniqueStream();
    const c = uniqueStream();
    await store.appendToStream(b, events(1));
    const err = await t.throwsAsync(
      store.appendToStreams([
        { streamId: a, events: events(1), expectedRevision: 'no_stream' },
        { streamId: b, events: events(1), expectedRevision: 'no_stream' },
        { streamId: c, events: events(1), expectedRevision: 'no_stream' },
      ]),
      { instanceOf: WrongExpectedVersionError },
    );
    t.is(err!.streamName, b);
    t.is(err!.actualVersion, 0n);
    t.is((await readAllOf(store, [c])).length, 0, 'no part after the failing one is written');
    t.is((await readAllOf(store, [b])).length, 1, 'the failing part wrote nothing');
    const before = await readAllOf(store, [a]);
    if (capabilities.atomicMultiStreamAppends) t.is(before.length, 0, 'all or nothing: the earlier part was rolled back');
    else t.true(before.length <= 1, 'at most the committed prefix');
  });

  test(`${name}: appendToStreams with a bad part is rejected and writes nothing`, async (t) => {
    const store = await openFor(t, factory);
    const a = uniqueStream();
    const head = await store.headPosition();
    const bad: StreamAppend[][] = [
      [{ streamId: a, events: events(1) }, { streamId: '$system', events: events(1) }],
      [{ streamId: a, events: events(1) }, { streamId: uniqueStream(), events: { type: 'T', data: { n: 1n } } }],
      [{ streamId: a, events: events(1) }, { streamId: uniqueStream(), events: events(1), expectedRevision: -1n }],
    ];
    const codes: string[] = [];
    for (const parts of bad) {
      const err = await t.throwsAsync(store.appendToStreams(parts));
      codes.push((err as { code?: string }).code ?? 'none');
    }
    t.deepEqual(codes, ['invalid_stream_name', 'event_not_serializable', 'invalid_expected_revision']);
    const empty = await t.throwsAsync(store.appendToStreams([]));
    t.is((empty as { code?: string }).code, 'invalid_argument');
    t.deepEqual(await store.headPosition(), head, 'nothing was written');
    t.is((await readAllOf(store, [a])).length, 0);
  });

  if (capabilities.atomicMultiStreamAppends) {
    test(`${name}: a retried appendToStreams with the same event ids is idempotent`, async (t) => {
      const store = await openFor(t, factory);
      const a = uniqueStream();
      const b = uniqueStream();
      const parts: StreamAppend[] = [
        { streamId: a, events: [{ id: randomUUID(), type: 'T', data: {} }], expectedRevision: 'no_stream' },
        { streamId: b, events: [{ id: randomUUID(), type: 'T', data: {} }], expectedRevision: 'no_stream' },
      ];
      const first = await store.appendToStreams(parts);
      const again = await store.appendToStreams(parts);
      t.deepEqual(again, first);
      t.is((await readAllOf(store, [a, b])).length, 2);
    });
  }
}
