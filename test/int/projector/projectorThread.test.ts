import test, { type ExecutionContext } from 'ava';
import { startProjectorThread, startServeProjector, type ProjectionSource, type StartProjectorThreadOptions } from '../../../src/projector/index.js';
import { openProjectionState } from '../../../src/store/projectionState/index.js';
import { openSqliteEventStore, type SqliteEventStore } from '../../../src/store/sqlite/index.js';
import { tempFile } from '../../support/tempFile.js';

const COUNT: ProjectionSource = {
  name: 'count',
  source: `fromCategory('order').foreachStream().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })`,
};
/** ~10 ms of busy work per event once compiled; its first, interpreted run is much slower. */
const SLOW: ProjectionSource = {
  name: 'slow',
  source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { var x = 0; for (var i = 0; i < 1e7; i++) x += i % 7; s.n++; s.x = x > 0; } })`,
};
const TOTAL: ProjectionSource = {
  name: 'total',
  source: `fromAll().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })`,
};

async function append(store: SqliteEventStore, stream: string, n: number, type = 'Placed'): Promise<void> {
  for (let i = 0; i < n; i++) await store.appendToStream(stream, { type, data: { i } });
}

/** A SQLite file log with its states beside it, as `serve` opens them, and a projector thread over both. */
async function threadOn(t: ExecutionContext, projections: ProjectionSource[], extra: Partial<StartProjectorThreadOptions> = {}) {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path });
  const stateStore = openProjectionState(`sqlite:${path}`);
  const logs: string[] = [];
  const logger = {
    info() {},
    debug: (_: object, m?: string) => void logs.push(`debug ${m}`),
    warn: (_: object, m?: string) => void logs.push(`warn ${m}`),
    error: (_: object, m?: string) => void logs.push(`error ${m}`),
  };
  const start = () => startProjectorThread({ store, storeOptions: { path }, stateStore, stateConnection: `sqlite:${path}`, projections, logger, ...extra });
  t.teardown(async () => {
    stateStore.close();
    await store.close();
  });
  return { path, store, stateStore, logs, start };
}

test('projector thread: reads answer what the thread applied, read-your-writes through catchUp', async (t) => {
  const { store, start } = await threadOn(t, [COUNT, TOTAL]);
  await append(store, 'order-1', 3);
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 3 });
  await append(store, 'order-1', 2);
  await append(store, 'order-2', 1);
  await projector.catchUp(5000);
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 5 });
  t.deepEqual(await projector.getResult('count', 'order-2'), { n: 1 });
  t.deepEqual(await projector.getState('total'), { n: 6 });
  const head = (await store.headPosition())!;
  t.deepEqual(projector.positionOf('total'), head);
  const listed = await projector.list();
  t.deepEqual(listed.map((p) => [p.name, p.status, p.lag, p.partitioned]), [['count', 'running', 0, true], ['total', 'running', 0, false]]);
});

test.serial('projector thread: a slow projection does not hold up the event loop', async (t) => {
  // Each event costs its handler ~10 ms of busy work once compiled (under the limit). In
  // process, a batch of 100 is applied in one go and the loop stalls for all of it; on the
  // thread, timers here keep firing throughout.
  // A generous time limit: on a loaded machine the first, interpreted run can pass 250 ms.
  const { store, start } = await threadOn(t, [SLOW], { eventTimeoutMs: 5000 });
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  await append(store, 'order-0', 1); // compiles the handler: its first, interpreted run is the slowest
  await projector.catchUp(30_000);
  let longestGap = 0;
  let last = performance.now();
  const tick = (): void => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  };
  const ticker = setInterval(tick, 5);
  const t0 = performance.now();
  await store.appendToStream('order-1', Array.from({ length: 100 }, (_, i) => ({ type: 'Placed', data: { i } })));
  await projector.catchUp(60_000);
  const applyMs = performance.now() - t0;
  clearInterval(ticker);
  tick();
  t.deepEqual(await projector.getState('slow'), { n: 101, x: true });
  // In process the longest gap is the whole apply; here a small part of it.
  t.true(longestGap < applyMs / 3, `longest gap between ticks ${longestGap.toFixed(0)} ms, applying took ${applyMs.toFixed(0)} ms`);
});

test('projector thread: unknown projections are refused on every call', async (t) => {
  const { start } = await threadOn(t, [COUNT]);
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  await t.throwsAsync(projector.getState('nope'), { message: /No projection named "nope"/ });
  await t.throwsAsync(projector.rebuild('nope'), { message: /No projection named "nope"/ });
  t.throws(() => projector.partitions('nope'), { message: /No projection named "nope"/ });
  t.throws(() => projector.positionOf('nope'), { message: /No projection named "nope"/ });
  t.throws(() => void projector.waitFor(null, 10, ['nope']), { message: /No projection named "nope"/ });
});

test('projector thread: a faulting projection is reported faulted and its waiters are told', async (t) => {
  const failing: ProjectionSource = { name: 'failing', source: `fromAll().when({ Refunded: function () { throw new Error('boom'); } })` };
  const { store, start } = await threadOn(t, [failing, TOTAL]);
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  await append(store, 'order-1', 1, 'Refunded');
  const err = await t.throwsAsync(projector.catchUp(5000, ['failing']));
  t.is((err as { code?: string }).code, 'projection_faulted');
  await projector.catchUp(5000, ['total']);
  const listed = await projector.list();
  t.is(listed.find((p) => p.name === 'failing')!.status, 'faulted');
  t.regex(listed.find((p) => p.name === 'failing')!.reason ?? '', /boom/);
  t.is(listed.find((p) => p.name === 'total')!.status, 'running');
});

test('projector thread: stop stores what was applied; the next thread resumes from there', async (t) => {
  const { store, stateStore, start } = await threadOn(t, [COUNT]);
  await append(store, 'order-1', 4);
  const first = start();
  await first.ready;
  t.is(first.progress()[0]!.handled, 4);
  await first.stop();
  t.deepEqual(stateStore.listPartitions('count'), ['order-1']);
  await t.throwsAsync(first.getState('count', 'order-1'), { message: /projector stopped/ });

  await append(store, 'order-1', 1);
  const second = start();
  t.teardown(() => second.stop());
  await second.ready;
  t.deepEqual(await second.getState('count', 'order-1'), { n: 5 });
  t.is(second.progress()[0]!.handled, 1, 'only the new event was handled again');
  t.deepEqual(second.partitions('count'), ['order-1']);
});

test('projector thread: rebuild re-runs a projection from the first event', async (t) => {
  const { store, start } = await threadOn(t, [COUNT]);
  await append(store, 'order-1', 3);
  const first = start();
  await first.ready;
  await first.stop();
  // Resumed from the stored checkpoint: nothing left to handle, until the rebuild.
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  t.is(projector.progress()[0]!.handled, 0);
  await projector.rebuild('count');
  t.is(projector.progress()[0]!.handled, 3, 'the three events handled again');
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 3 });
});

test('projector thread: a thread that dies is started again; nobody reads a position it has not reached again', async (t) => {
  // States are stored every minute only: what the dead thread applied is not in the file.
  const { store, logs, start } = await threadOn(t, [COUNT], { liveCommitIntervalMs: 60_000 });
  await append(store, 'order-1', 2);
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  await append(store, 'order-1', 3);
  await projector.catchUp(5000);
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 5 });
  const { checkpoint, position } = projector.progress()[0]!;
  t.true(checkpoint !== null && position !== null && checkpoint.commit < position.commit, 'applied past the stored checkpoint');
  await projector.killThread();
  t.true(logs.some((l) => /starting it again/.test(l)), logs.join('; '));
  t.deepEqual(projector.positionOf('count'), checkpoint, 'back to the stored checkpoint');
  // Without a new append: the new thread re-applies from the stored checkpoint first, and the
  // read waits for it instead of failing or answering the checkpoint's older state.
  await projector.catchUp(15_000);
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 5 });
  t.is(projector.progress()[0]!.handled, 5 + 3, 'handled counts both threads');
  // A rebuild starts the count again, whatever the threads before handled.
  await projector.rebuild('count');
  t.is(projector.progress()[0]!.handled, 5);
});

test('projector thread: calls in flight when the thread dies fail with store_unavailable; later ones wait for the next thread', async (t) => {
  const { store, start } = await threadOn(t, [SLOW], { eventTimeoutMs: 5000 });
  await store.appendToStream('order-1', Array.from({ length: 60 }, (_, i) => ({ type: 'Placed', data: { i } })));
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.ready;
  // A rebuild re-applies 60 slow events: it is still running when the thread is ended.
  const rebuilding = projector.rebuild('slow');
  await new Promise((r) => setTimeout(r, 50));
  await projector.killThread();
  const err = await t.throwsAsync(rebuilding);
  t.is((err as { code?: string }).code, 'store_unavailable');
  // One made while the thread is down is answered by the next thread; the rebuild's reset was
  // stored, so that thread applies everything again.
  await t.notThrowsAsync(projector.getState('slow'));
  await projector.catchUp(60_000);
  t.like(await projector.getState('slow'), { n: 60 });
});

test('projector thread: stop during the wait before a restart starts no thread', async (t) => {
  const { start, logs } = await threadOn(t, [COUNT]);
  const projector = start();
  await projector.ready;
  await projector.killThread();
  const waiting = projector.getState('count', 'x');
  await projector.stop();
  await t.throwsAsync(waiting, { message: /projector stopped/ });
  await new Promise((r) => setTimeout(r, 1500)); // past the restart delay (1 s)
  t.is(logs.filter((l) => /starting the projector thread/.test(l)).length, 1, logs.join('; '));
  await t.throwsAsync(projector.getState('count', 'x'), { message: /projector stopped/ });
});

test('projector thread: stopped during its first catch-up, it settles ready and logs no failure', async (t) => {
  const { store, start, logs } = await threadOn(t, [SLOW], { eventTimeoutMs: 5000 });
  await store.appendToStream('order-1', Array.from({ length: 50 }, (_, i) => ({ type: 'Placed', data: { i } })));
  const projector = start();
  await projector.stop();
  // Whether the stop came before the thread had caught up or after, ready settles either way.
  const outcome = await projector.ready.then(() => 'ready', (err: { code?: string }) => err.code);
  t.true(outcome === 'ready' || outcome === 'store_closed', String(outcome));
  t.deepEqual(logs.filter((l) => l.startsWith('error')), []);
});

test('projector thread: a thread that dies before its first catch-up fails ready and is not started again', async (t) => {
  const { start, logs } = await threadOn(t, [COUNT]);
  const projector = start();
  t.teardown(() => projector.stop());
  await projector.killThread();
  const err = await t.throwsAsync(projector.ready);
  t.is((err as { code?: string }).code, 'store_unavailable');
  t.false(logs.some((l) => /starting it again/.test(l)), logs.join('; '));
  await t.throwsAsync(projector.getState('count', 'x'), { message: /projector thread stopped/ });
});

test('projector thread: a commit elsewhere is seen at once by catchUp, not at the next poll', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path });
  const stateStore = openProjectionState(`sqlite:${path}`);
  // The thread would look at the log only once a minute by itself.
  const projector = startProjectorThread({ store, storeOptions: { path, pollIntervalMs: 60_000 }, stateStore, stateConnection: `sqlite:${path}`, projections: [COUNT] });
  t.teardown(async () => {
    await projector.stop();
    stateStore.close();
    await store.close();
  });
  await projector.ready;
  await append(store, 'order-1', 2);
  await projector.catchUp(5000);
  t.deepEqual(await projector.getState('count', 'order-1'), { n: 2 });
});

test('serve runs the projector on a thread over a SQLite file, in-process over a memory store', async (t) => {
  const path = await tempFile(t);
  const logger = { info() {}, debug() {}, warn() {}, error() {} };
  const file = openSqliteEventStore({ path });
  const fileStates = openProjectionState(`sqlite:${path}`);
  const memory = openSqliteEventStore({ path: ':memory:' });
  const memoryStates = openProjectionState('sqlite::memory:');
  const threaded = startServeProjector({ store: file, connection: `sqlite:${path}`, stateStore: fileStates, logger });
  const inProcess = startServeProjector({ store: memory, connection: 'sqlite::memory:', stateStore: memoryStates, logger });
  t.teardown(async () => {
    await threaded.stop();
    await inProcess.stop();
    fileStates.close();
    memoryStates.close();
    await file.close();
    await memory.close();
  });
  await Promise.all([threaded.ready, inProcess.ready]);
  t.deepEqual(threaded.names(), inProcess.names());
  t.deepEqual((await threaded.list()).map((p) => p.status), (await inProcess.list()).map((p) => p.status));
  await threaded.stop();
  await inProcess.stop();
  // Once stopped, the in-process projector still holds its states; the thread took its own away.
  const name = inProcess.names()[0]!;
  t.is(await inProcess.getState(name, 'x'), undefined);
  await t.throwsAsync(threaded.getState(name, 'x'), { message: /projector stopped/ });
});
