import test from 'ava';
import { startProjector, type ProjectionSource } from '../../../src/projector/index.js';
import { createMemoryProjectionState } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';
import type { EventStore } from '../../../src/store/types.js';

const at = (i: number) => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });

async function storeWith(events: Array<[stream: string, type: string, data: Record<string, unknown>]>): Promise<EventStore> {
  const store = await openEventStore('sqlite::memory:');
  let i = 0;
  for (const [stream, type, data] of events) await store.appendToStream(stream, { type, data, metadata: at(i++) });
  return store;
}

const LOG: Array<[string, string, Record<string, unknown>]> = [
  ['order-1', 'Placed', { amount: 5 }],
  ['order-2', 'Placed', { amount: 7 }],
  ['order-1', 'Paid', { amount: 5 }],
  ['user-9', 'Renamed', { name: 'x' }],
  ['order-2', 'Cancelled', {}],
];

async function run(t: { teardown(fn: () => unknown): void }, projections: ProjectionSource[], extra: { eventTimeoutMs?: number } = {}) {
  const store = await storeWith(LOG);
  const projector = startProjector({ store, stateStore: createMemoryProjectionState(), projections, batchSize: 2, ...extra });
  t.teardown(async () => {
    await projector.stop();
    await store.close();
  });
  await projector.ready;
  return { store, projector };
}

test('fromAll with $init, named handlers and $any folds every event; a returned value replaces the state', async (t) => {
  const { projector } = await run(t, [{
    name: 'p',
    source: `fromAll().when({
      $init: function () { return { placed: 0, other: 0, total: 0 }; },
      Placed: function (s, e) { s.placed++; s.total += e.data.amount; },
      Cancelled: function (s) { return { placed: s.placed, other: s.other, total: s.total, cancelled: true }; },
      $any: function (s) { s.other++; }
    })`,
  }]);
  t.deepEqual(await projector.getState('p'), { placed: 2, other: 2, total: 12, cancelled: true });
});

test('fromCategory().foreachStream() keeps one state per stream and gives handlers the EventStoreDB envelope', async (t) => {
  const { projector } = await run(t, [{
    name: 'p',
    source: `fromCategory('order').foreachStream().when({
      $any: function (s, e) {
        s.seen = (s.seen || []).concat([[e.eventType, e.sequenceNumber, e.streamId, e.category, e.partition, e.body === e.data, e.bodyRaw, e.metadata.at, e.isJson, typeof e.eventId]]);
      }
    })`,
  }]);
  const one = (await projector.getState<{ seen: unknown[] }>('p', 'order-1'))!;
  t.deepEqual(one.seen, [
    ['Placed', 0, 'order-1', 'order', 'order-1', true, '{"amount":5}', at(0).at, true, 'string'],
    ['Paid', 1, 'order-1', 'order', 'order-1', true, '{"amount":5}', at(2).at, true, 'string'],
  ]);
  t.is((await projector.getState<{ seen: unknown[] }>('p', 'order-2'))!.seen.length, 2);
  t.is(await projector.getState('p', 'user-9'), undefined);
  t.is(await projector.getState('p'), undefined, 'a partitioned projection has no whole state');
});

test('fromStream, fromStreams and fromCategories read only what they name', async (t) => {
  const { projector } = await run(t, [
    { name: 'one', source: `fromStream('order-1').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
    { name: 'two', source: `fromStreams(['order-2', 'user-9']).when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
    { name: 'cats', source: `fromCategories('order', 'user').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
  ]);
  t.deepEqual(await projector.getState('one'), { n: 2 });
  t.deepEqual(await projector.getState('two'), { n: 3 });
  t.deepEqual(await projector.getState('cats'), { n: 5 });
});

test('partitionBy routes events by key and skips those whose key is null', async (t) => {
  const { projector } = await run(t, [{
    name: 'p',
    source: `fromAll().partitionBy(function (e) { return e.data.amount === undefined ? null : e.data.amount; })
      .when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n++; s.partition = e.partition; } })`,
  }]);
  t.deepEqual(await projector.getState('p', '5'), { n: 2, partition: '5' });
  t.deepEqual(await projector.getState('p', '7'), { n: 1, partition: '7' });
  t.deepEqual(projector.partitions('p'), ['5', '7']);
});

test('transformBy and filterBy shape the result, not the state', async (t) => {
  const { projector } = await run(t, [
    {
      name: 'p',
      source: `fromCategory('order').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })
        .transformBy(function (s) { return { doubled: s.n * 2 }; }).filterBy(function (r) { return r.doubled > 4; }).outputState()`,
    },
    {
      name: 'q',
      source: `fromCategory('order').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } }).filterBy(function (s) { return s.n > 100; })`,
    },
  ]);
  t.deepEqual(await projector.getState('p'), { n: 4 });
  t.deepEqual(await projector.getResult('p'), { doubled: 8 });
  t.is(await projector.getResult('q'), null);
});

test('options with an unknown key, emitting and a broken chain fault only their own projection', async (t) => {
  const { projector } = await run(t, [
    { name: 'bad-option', source: `options({ resultStreamName: 'x', colour: 'red' }); fromAll().when({ $any: function () {} })` },
    { name: 'emits', source: `fromAll().when({ $any: function (s, e) { emit('out', 'X', {}); } })` },
    { name: 'chain', source: `fromStream('order-1').foreachStream()` },
    { name: 'none', source: `var x = 1;` },
    { name: 'good', source: `options({ $includeLinks: false, reorderEvents: false }); fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
  ]);
  const byName = Object.fromEntries((await projector.list()).map((p) => [p.name, p]));
  t.is(byName['bad-option']!.status, 'faulted');
  t.regex(byName['bad-option']!.reason!, /Unrecognized option: colour/);
  t.is(byName.emits!.status, 'faulted');
  t.regex(byName.emits!.reason!, /'emit' is not allowed/);
  t.is(byName.emits!.checkpoint, null, 'a fault keeps the last checkpoint');
  t.is(byName.chain!.status, 'faulted');
  t.regex(byName.none!.reason!, /declares no query/);
  t.is(byName.good!.status, 'running');
  t.deepEqual(await projector.getState('good'), { n: 5 });
});

test('a handler that throws faults its projection with the event named, and the others carry on', async (t) => {
  const { store, projector } = await run(t, [
    { name: 'fragile', source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { if (e.eventType === 'Paid') throw new Error('cannot pay'); s.n++; } })` },
    { name: 'steady', source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
  ]);
  const fragile = (await projector.list()).find((p) => p.name === 'fragile')!;
  t.is(fragile.status, 'faulted');
  t.regex(fragile.reason!, /cannot pay/);
  t.regex(fragile.reason!, /Paid #1 of "order-1"/);
  await store.appendToStream('order-3', { type: 'Placed', data: { amount: 1 }, metadata: at(9) });
  await projector.catchUp(5000, ['steady']);
  t.deepEqual(await projector.getState('steady'), { n: 6 });
  await t.throwsAsync(projector.catchUp(5000, ['fragile']), { message: /faulted/ });
});

test('a handler over the per-event time limit is stopped and faults its projection only', async (t) => {
  const { projector } = await run(t, [
    { name: 'spins', source: `fromAll().when({ Paid: function () { while (true) {} } })` },
    { name: 'steady', source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` },
  ], { eventTimeoutMs: 40 });
  const spins = (await projector.list()).find((p) => p.name === 'spins')!;
  t.is(spins.status, 'faulted');
  t.regex(spins.reason!, /40 ms limit/);
  t.deepEqual(await projector.getState('steady'), { n: 5 });
});

test('clocks and randomness are refused inside projections', async (t) => {
  const { projector } = await run(t, [
    { name: 'clock', source: `fromAll().when({ $any: function (s) { s.t = Date.now(); } })` },
    { name: 'random', source: `fromAll().when({ $any: function (s) { s.r = Math.random(); } })` },
    { name: 'parse', source: `fromAll().when({ $any: function (s, e) { s.t = Date.parse(e.metadata.at); } })` },
  ]);
  const byName = Object.fromEntries((await projector.list()).map((p) => [p.name, p]));
  t.regex(byName.clock!.reason!, /Date\.now is not available/);
  t.regex(byName.random!.reason!, /Math\.random is not available/);
  t.is(byName.parse!.status, 'running');
});

test('a handler cannot change the event another projection sees', async (t) => {
  const { projector } = await run(t, [
    { name: 'a-vandal', source: `fromAll().when({ $any: function (s, e) { e.data.amount = 1000; s.ok = true; } })` },
    { name: 'b-reader', source: `fromAll().when({ $init: function () { return { total: 0 }; }, Placed: function (s, e) { s.total += e.data.amount; } })` },
  ]);
  t.deepEqual(await projector.getState('b-reader'), { total: 12 });
});

test('a changed projection source is rebuilt from the first event; rebuild() starts over too', async (t) => {
  const store = await storeWith(LOG);
  const stateStore = createMemoryProjectionState();
  t.teardown(() => store.close());
  const v1 = startProjector({ store, stateStore, projections: [{ name: 'p', source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })` }] });
  await v1.ready;
  await v1.stop();
  const v2 = startProjector({ store, stateStore, projections: [{ name: 'p', source: `fromAll().when({ $init: function () { return { n: 100 }; }, $any: function (s) { s.n++; } })` }] });
  await v2.ready;
  t.deepEqual(await v2.getState('p'), { n: 105 });
  await v2.rebuild('p');
  t.deepEqual(await v2.getState('p'), { n: 105 });
  t.deepEqual(v2.positionOf('p'), (await store.headPosition())!);
  await v2.stop();
});

test('an unknown projection name is reported as such', async (t) => {
  const { projector } = await run(t, []);
  await t.throwsAsync(projector.getState('nope'), { message: /No projection named "nope"/ });
  t.throws(() => projector.positionOf('nope'), { message: /No projection/ });
});
