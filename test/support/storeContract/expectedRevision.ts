import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { WrongExpectedVersionError } from '../../../src/store/errors.js';
import type { EventStore, ExpectedRevision } from '../../../src/store/types.js';
import { collect, events, openFor, revisions, uniqueStream, type Contract } from './harness.js';

async function assertConflict(
  t: ExecutionContext,
  store: EventStore,
  stream: string,
  expected: ExpectedRevision,
  actual: bigint | 'no_stream',
): Promise<void> {
  const head = await store.headPosition();
  const err = await t.throwsAsync(store.appendToStream(stream, events(2), { expectedRevision: expected }), {
    instanceOf: WrongExpectedVersionError,
  });
  t.is(err!.code, 'wrong_expected_version');
  t.is(err!.streamName, stream);
  t.is(err!.expectedVersion, expected);
  t.is(err!.actualVersion, actual);
  t.deepEqual(await store.headPosition(), head, 'a rejected append writes nothing');
}

export function expectedRevisionCases({ test, name, factory }: Contract): void {
  test(`${name}: expectedRevision no_stream creates a stream and conflicts once it exists`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const result = await store.appendToStream(stream, events(2), { expectedRevision: 'no_stream' });
    t.is(result.nextExpectedRevision, 1n);
    await assertConflict(t, store, stream, 'no_stream', 1n);
  });

  test(`${name}: expectedRevision stream_exists conflicts on a missing stream and appends to an existing one`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await assertConflict(t, store, stream, 'stream_exists', 'no_stream');
    await store.appendToStream(stream, events(1));
    const result = await store.appendToStream(stream, events(1), { expectedRevision: 'stream_exists' });
    t.is(result.nextExpectedRevision, 1n);
  });

  test(`${name}: an exact expectedRevision appends at the head`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(3));
    const result = await store.appendToStream(stream, events(2), { expectedRevision: 2n });
    t.is(result.nextExpectedRevision, 4n);
    t.deepEqual(revisions(await collect(store.readStream(stream))), [0n, 1n, 2n, 3n, 4n]);
  });

  test(`${name}: append at a stale revision is rejected and writes nothing`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(3));
    await assertConflict(t, store, stream, 1n, 2n);
    await assertConflict(t, store, stream, 7n, 2n);
    t.is((await collect(store.readStream(stream))).length, 3);
  });

  test(`${name}: an exact expectedRevision on a missing stream reports no_stream`, async (t) => {
    const store = await openFor(t, factory);
    await assertConflict(t, store, uniqueStream(), 0n, 'no_stream');
  });

  test(`${name}: expectedRevision any appends whatever the stream holds`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    t.is((await store.appendToStream(stream, events(1), { expectedRevision: 'any' })).nextExpectedRevision, 0n);
    t.is((await store.appendToStream(stream, events(1), { expectedRevision: 'any' })).nextExpectedRevision, 1n);
  });

  test(`${name}: two writers at the same expected revision: exactly one wins`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(1));
    const outcomes = await Promise.allSettled(
      [0, 1, 2].map(() => store.appendToStream(stream, events(1), { expectedRevision: 0n })),
    );
    t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) {
      if (o.status === 'rejected') t.true(o.reason instanceof WrongExpectedVersionError);
    }
    t.is((await collect(store.readStream(stream))).length, 2);
  });
}

export function idempotencyCases({ test, name, factory, capabilities }: Contract): void {
  const retries: Array<[string, (first: ExpectedRevision) => ExpectedRevision]> = [
    ['the same expected revision', (first) => first],
    ['expectedRevision any', () => 'any'],
  ];
  for (const [how, retryWith] of retries) {
    test(`${name}: re-appending the same event ids at the same place with ${how} returns the original result and writes nothing`, async (t) => {
      const store = await openFor(t, factory);
      const stream = uniqueStream();
      await store.appendToStream(stream, events(2));
      const batch = [
        { id: randomUUID(), type: 'Tested', data: { n: 2 } },
        { id: randomUUID(), type: 'Tested', data: { n: 3 } },
      ];
      const original = await store.appendToStream(stream, batch, { expectedRevision: 1n });
      const head = await store.headPosition();
      const again = await store.appendToStream(stream, batch, { expectedRevision: retryWith(1n) });
      t.deepEqual(again, original);
      t.deepEqual(await store.headPosition(), head);
      t.deepEqual(revisions(await collect(store.readStream(stream))), [0n, 1n, 2n, 3n]);
    });
  }

  test(`${name}: re-appending the first batch of a stream with no_stream is idempotent`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const event = { id: randomUUID(), type: 'Tested', data: {} };
    const original = await store.appendToStream(stream, event, { expectedRevision: 'no_stream' });
    t.deepEqual(await store.appendToStream(stream, event, { expectedRevision: 'no_stream' }), original);
    t.is((await collect(store.readStream(stream))).length, 1);
  });

  if (capabilities.globallyUniqueEventIds) {
    test(`${name}: the same event ids in another stream or at another place are rejected as duplicates`, async (t) => {
      const store = await openFor(t, factory);
      const stream = uniqueStream();
      const event = { id: randomUUID(), type: 'Tested', data: {} };
      await store.appendToStream(stream, [event, ...events(1)]);
      const head = await store.headPosition();
      const other = uniqueStream();
      await t.throwsAsync(store.appendToStream(other, event), { code: 'duplicate_event_id' });
      await t.throwsAsync(store.appendToStream(stream, event, { expectedRevision: 1n }), { code: 'duplicate_event_id' });
      await t.throwsAsync(store.appendToStream(stream, [...events(1), event]), { code: 'duplicate_event_id' });
      await t.throwsAsync(store.appendToStream(other, [event, event].map((e) => ({ ...e, id: randomUUID() })).concat(event)), {
        code: 'duplicate_event_id',
      });
      t.deepEqual(await store.headPosition(), head, 'nothing written');
      await t.throwsAsync(collect(store.readStream(other)), { code: 'stream_not_found' });
    });
  } else {
    test(`${name}: an event id reused in another stream is stored there (ids are a per-position idempotency key)`, async (t) => {
      const store = await openFor(t, factory);
      const stream = uniqueStream();
      const event = { id: randomUUID(), type: 'Tested', data: {} };
      await store.appendToStream(stream, event);
      const other = uniqueStream();
      await store.appendToStream(other, event);
      t.deepEqual((await collect(store.readStream(other))).map((e) => e.id), [event.id]);
      t.is((await collect(store.readStream(stream))).length, 1, 'the first stream is unchanged');
    });
  }

  test(`${name}: one event id twice in a batch is rejected`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const id = randomUUID();
    await t.throwsAsync(
      store.appendToStream(stream, [
        { id, type: 'Tested', data: 1 },
        { id, type: 'Tested', data: 2 },
      ]),
      { code: 'duplicate_event_id' },
    );
    await t.throwsAsync(collect(store.readStream(stream)), { code: 'stream_not_found' });
  });
}
