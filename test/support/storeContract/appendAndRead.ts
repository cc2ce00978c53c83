import { randomUUID } from 'node:crypto';
import { StreamNotFoundError } from '../../../src/store/errors.js';
import { assertStrictlyIncreasing, collect, events, openFor, readAllOf, revisions, uniqueStream, type Contract } from './harness.js';

export function appendAndReadCases({ test, name, factory }: Contract): void {
  test(`${name}: appended events read back with id, type, data, metadata and stream`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const id = randomUUID();
    const data = { text: 'héllo ✓ 🚀', nested: { list: [1, 2.5, null, true], empty: {} } };
    const metadata = { at: '2026-01-01T00:00:00.000Z', actor: 'system' };
    const before = Date.now();
    await store.appendToStream(stream, [{ id, type: 'FlowInitiated', data, metadata }, { type: 'NoMetadata', data: 'plain' }]);
    const [first, second] = await collect(store.readStream(stream));
    t.is(first!.id, id);
    t.is(first!.streamId, stream);
    t.is(first!.type, 'FlowInitiated');
    t.deepEqual(first!.data, data);
    t.deepEqual(first!.metadata, metadata);
    t.true(first!.created instanceof Date);
    t.true(first!.created.getTime() >= before - 1000);
    t.deepEqual(second!.metadata, {}, 'metadata defaults to {}');
    t.is(second!.data, 'plain');
    t.regex(second!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'ids default to a UUID');
  });

  test(`${name}: revisions are 0-based and contiguous across appends`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const a = await store.appendToStream(stream, events(2));
    const b = await store.appendToStream(stream, events(3, 'Tested', 2));
    t.is(a.nextExpectedRevision, 1n);
    t.is(b.nextExpectedRevision, 4n);
    const read = await collect(store.readStream(stream));
    t.deepEqual(revisions(read), [0n, 1n, 2n, 3n, 4n]);
    t.deepEqual(read.map((e) => (e.data as { n: number }).n), [0, 1, 2, 3, 4]);
  });

  test(`${name}: concurrent appends to one stream get distinct contiguous revisions`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(stream, events(1, 'Tested', i))));
    t.deepEqual(
      results.map((r) => r.nextExpectedRevision).sort((x, y) => (x < y ? -1 : 1)),
      Array.from({ length: 20 }, (_, i) => BigInt(i)),
    );
    t.deepEqual(revisions(await collect(store.readStream(stream))), Array.from({ length: 20 }, (_, i) => BigInt(i)));
  });

  test(`${name}: readStream forwards honours fromRevision and maxCount`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(10));
    t.deepEqual(revisions(await collect(store.readStream(stream, { fromRevision: 3n, maxCount: 4 }))), [3n, 4n, 5n, 6n]);
    t.deepEqual(revisions(await collect(store.readStream(stream, { fromRevision: 'start', maxCount: 2n }))), [0n, 1n]);
    t.deepEqual(revisions(await collect(store.readStream(stream, { fromRevision: 8n }))), [8n, 9n]);
    t.deepEqual(await collect(store.readStream(stream, { fromRevision: 10n })), [], 'past the end of an existing stream is empty');
  });

  test(`${name}: readStream backwards starts at the end or at a revision, inclusive`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(5));
    t.deepEqual(revisions(await collect(store.readStream(stream, { direction: 'backwards' }))), [4n, 3n, 2n, 1n, 0n]);
    t.deepEqual(
      revisions(await collect(store.readStream(stream, { direction: 'backwards', fromRevision: 'end', maxCount: 1 }))),
      [4n],
      'the usual "last event" read',
    );
    t.deepEqual(revisions(await collect(store.readStream(stream, { direction: 'backwards', fromRevision: 2n }))), [2n, 1n, 0n]);
    t.deepEqual(revisions(await collect(store.readStream(stream, { direction: 'backwards', fromRevision: 'start' }))), [0n]);
  });

  test(`${name}: reading a stream that has no events throws StreamNotFoundError on iteration`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const iterable = store.readStream(stream);
    const err = await t.throwsAsync(collect(iterable), { instanceOf: StreamNotFoundError });
    t.is(err!.streamName, stream);
    t.is(err!.code, 'stream_not_found');
    await t.throwsAsync(collect(store.readStream(stream, { direction: 'backwards' })), { instanceOf: StreamNotFoundError });
    await t.throwsAsync(collect(store.readStream(stream, { fromRevision: 3n })), { instanceOf: StreamNotFoundError });
  });

  test(`${name}: reading an existing stream from beyond its end yields nothing, not StreamNotFoundError`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, [{ type: 'Tested', data: {} }, { type: 'Tested', data: {} }]);
    t.deepEqual(await collect(store.readStream(stream, { fromRevision: 5n })), []);
    t.is((await collect(store.readStream(stream, { fromRevision: 1n }))).length, 1);
  });

  test(`${name}: readAll lists every stream's events in strictly increasing position order`, async (t) => {
    const store = await openFor(t, factory);
    const streams = [uniqueStream(), uniqueStream(), uniqueStream()];
    const appended: string[] = [];
    for (let round = 0; round < 4; round++) {
      for (const stream of streams) {
        const id = randomUUID();
        appended.push(id);
        await store.appendToStream(stream, { id, type: 'Tested', data: { round } });
      }
    }
    const all = await readAllOf(store, streams);
    t.deepEqual(all.map((e) => e.id), appended);
    assertStrictlyIncreasing(t, all);
    const backwards = await readAllOf(store, streams, { direction: 'backwards' });
    t.deepEqual(backwards.map((e) => e.id), [...appended].reverse());
  });

  test(`${name}: readAll from a position is inclusive forwards and exclusive backwards`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(6));
    const all = await readAllOf(store, [stream]);
    const pivot = all[3]!.position;
    const forwards = await readAllOf(store, [stream], { fromPosition: pivot });
    t.deepEqual(revisions(forwards), [3n, 4n, 5n]);
    const backwards = await readAllOf(store, [stream], { fromPosition: pivot, direction: 'backwards' });
    t.deepEqual(revisions(backwards), [2n, 1n, 0n]);
    const limited = await collect(store.readAll({ fromPosition: pivot, maxCount: 2 }));
    t.is(limited.length, 2);
    t.deepEqual(limited[0]!.position, pivot);
    t.deepEqual(await collect(store.readAll({ fromPosition: 'end' })), [], 'forwards from the end is empty');
  });

  test(`${name}: append results carry the stored positions and headPosition follows them`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    const first = await store.appendToStream(stream, events(1));
    const second = await store.appendToStream(stream, events(3));
    t.true(second.position.commit > first.position.commit);
    const all = await readAllOf(store, [stream]);
    t.deepEqual(all[0]!.position, first.position);
    t.deepEqual(all[3]!.position, second.position, 'a batch reports the position of its last event');
    t.deepEqual(await store.headPosition(), second.position);
  });
}
