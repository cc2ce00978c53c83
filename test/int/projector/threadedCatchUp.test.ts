import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { startCatchUpThreads } from '../../../src/projector/catchUpThreads.js';
import { loadProjectionFiles, startProjector, type ProjectionSource } from '../../../src/projector/index.js';
import { createMemoryProjectionState, openSqliteProjectionState } from '../../../src/store/projectionState/index.js';
import type { ProjectionStateStore } from '../../../src/store/projectionState/types.js';
import { openEventStore } from '../../../src/store/index.js';
import type { EventStore } from '../../../src/store/types.js';
import type { Logger } from '../../../src/flow/deps.js';
import { canonicalExpected, expectedStates, projectedStates, readLog } from '../../support/projections/harness.js';
import { appendLog, simulate } from '../../support/projections/logGenerator.js';

const CHILD = fileURLToPath(new URL('../../support/projections/projectorChild.ts', import.meta.url));

async function fileStore(t: ExecutionContext, name: string): Promise<{ path: string; store: EventStore }> {
  const dir = mkdtempSync(join(tmpdir(), `projector-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.db');
  const store = await openEventStore(`sqlite:${path}?synchronous=normal`);
  t.teardown(() => store.close());
  return { path, store };
}

/** A logger that keeps the messages (the windowed catch-up announces who runs where). */
function recordingLogger(): Logger & { messages: string[]; workers: string[][]; outcomes: string[] } {
  const messages: string[] = [];
  const workers: string[][] = [];
  const outcomes: string[] = [];
  const keep = (obj: object, msg?: string) => {
    messages.push(msg ?? '');
    if (msg === 'catching up by windows') workers.push((obj as { workers: string[][] }).workers.flat());
    if (msg === 'catch-up by windows ended') outcomes.push((obj as { outcome: string }).outcome);
  };
  return { messages, workers, outcomes, info: keep, warn: keep, error: keep, debug() {} };
}

/** Checkpoint (position, status, reason) and every partition state of each projection. */
function snapshot(stateStore: ProjectionStateStore, names: string[]) {
  return Object.fromEntries(
    names.map((name) => {
      const c = stateStore.readCheckpoint(name);
      const partitions = Object.fromEntries(stateStore.listPartitions(name).map((p) => [p, JSON.parse(stateStore.readState(name, p)!)]));
      return [name, { position: c?.position?.commit ?? null, status: c?.status, reason: c?.reason, partitions }];
    }),
  );
}

/** Catches up `projections` over `store` on this thread only, into memory. */
async function singleThreaded(store: EventStore, projections: ProjectionSource[]) {
  const stateStore = createMemoryProjectionState();
  const projector = startProjector({ store, stateStore, projections, catchUpThreads: 0, batchSize: 500 });
  await projector.ready;
  await projector.stop();
  return snapshot(stateStore, projections.map((p) => p.name));
}

test('a catch-up in worker threads stores the same states and checkpoints as one on the projector thread', async (t) => {
  const { path, store } = await fileStore(t, 'threads');
  await appendLog(store, simulate(21, 3000, { users: 30, servers: 4 }).entries);
  // The log ends with events no projection handles: positions must still reach the head.
  for (let i = 0; i < 40; i++) await store.appendToStream(`misc-${i}`, { type: 'Unrelated', data: { i }, metadata: {} });
  const head = (await store.headPosition())!;
  const projections = loadProjectionFiles();
  const names = projections.map((p) => p.name);

  const stateStore = openSqliteProjectionState(path);
  t.teardown(() => stateStore.close());
  const logger = recordingLogger();
  const projector = startProjector({ store, stateStore, projections, catchUpThreads: 2, threadedCatchUpFrom: 1, logger });
  await projector.ready;
  t.true(logger.messages.includes('catching up by windows'), logger.messages.join('; '));
  for (const p of await projector.list()) {
    t.is(p.position?.commit, head.commit, p.name);
    t.is(p.checkpoint?.commit, head.commit, p.name);
    t.true(p.handled > 0, p.name);
  }
  // The projector thread answers from what the workers stored, and goes on live from there.
  const expected = expectedStates(await readLog(store));
  t.deepEqual(await projectedStates(projector, stateStore, expected), canonicalExpected(expected));
  await appendLog(store, simulate(22, 200, { users: 30, servers: 4 }).entries);
  await projector.catchUp(10_000);
  // A rebuild (what `flowctl projections rebuild` runs) catches up in a worker too.
  t.true(logger.workers[0]!.length > 0, 'some projections ran in a worker');
  const before = logger.messages.filter((m) => m === 'catching up by windows').length;
  await projector.rebuild('flow-status');
  t.is(logger.messages.filter((m) => m === 'catching up by windows').length, before + 1);
  await projector.stop();

  t.deepEqual(snapshot(stateStore, names), await singleThreaded(store, projections));
});

test('a worker done with its share takes over half of the projector thread\'s projections; states, checkpoints and counts equal a single-threaded catch-up', async (t) => {
  const { path, store } = await fileStore(t, 'threads-handoff');
  // Three projections over many orders, each handler slowed down by a loop (no clock in
  // projections), so the projector thread is still busy when the worker, whose share is a few
  // pings, is done with it: the worker then takes over part of the order projections.
  const slow = 'var w = 0; for (var i = 0; i < 50000; i++) w += i;';
  const projections: ProjectionSource[] = [
    { name: 'order-lines', source: `fromCategory('order').foreachStream().when({ $init: function () { return { n: 0 }; }, Placed: function (s, e) { ${slow} s.n++; return s; } })` },
    { name: 'order-count', source: `fromCategory('order').when({ $init: function () { return { n: 0 }; }, Placed: function (s) { ${slow} s.n++; return s; } })` },
    { name: 'order-total', source: `fromCategory('order').when({ $init: function () { return { total: 0 }; }, Placed: function (s, e) { ${slow} s.total += e.data.amount; return s; } })` },
    { name: 'pings', source: `fromCategory('ping').when({ $init: function () { return { n: 0 }; }, Pinged: function (s) { s.n++; return s; } })` },
  ];
  const orders = 30_000;
  for (let i = 0; i < orders; i += 500) {
    const events = Array.from({ length: 500 }, (_, k) => ({ type: 'Placed', data: { amount: (i + k) % 7 }, metadata: {} }));
    await store.appendToStream(`order-${i % 40}`, events);
  }
  for (let i = 0; i < 20; i++) await store.appendToStream('ping-1', { type: 'Pinged', data: {}, metadata: {} });
  const head = (await store.headPosition())!;

  const stateStore = openSqliteProjectionState(path);
  t.teardown(() => stateStore.close());
  const logger = recordingLogger();
  const projector = startProjector({ store, stateStore, projections, catchUpThreads: 2, threadedCatchUpFrom: 1, logger });
  await projector.ready;
  t.deepEqual(logger.workers[0], ['pings']);
  t.true(logger.messages.includes('a catch-up worker takes over projections'), logger.messages.join('; '));
  const handled = Object.fromEntries((await projector.list()).map((p) => [p.name, p.handled]));
  t.deepEqual(handled, { 'order-lines': orders, 'order-count': orders, 'order-total': orders, pings: 20 }, 'each event counted once, whichever thread handled it');
  for (const p of await projector.list()) t.is(p.checkpoint?.commit, head.commit, p.name);
  t.deepEqual(await projector.getState('order-count'), { n: orders });
  await projector.stop();
  t.deepEqual(logger.outcomes, ['done'], 'no thread found a checkpoint moved under it');
  t.deepEqual(snapshot(stateStore, projections.map((p) => p.name)), await singleThreaded(store, projections));
});

test('a projection that faults in a worker stops alone; the others of its worker finish', async (t) => {
  const { path, store } = await fileStore(t, 'threads-fault');
  await appendLog(store, simulate(23, 2000, { users: 20, servers: 3 }).entries);
  // Reads the whole log, as client-health does: the same worker runs both.
  const faulty = { name: 'faulty', source: "fromAll().when({ ClientReused: function () { throw new Error('boom'); } })" };
  const projections = [...loadProjectionFiles(), faulty];
  const stateStore = openSqliteProjectionState(path);
  t.teardown(() => stateStore.close());
  const logger = recordingLogger();
  const projector = startProjector({ store, stateStore, projections, catchUpThreads: 2, threadedCatchUpFrom: 1, logger });
  await projector.ready;
  t.true(logger.workers[0]!.includes('faulty') && logger.workers[0]!.includes('client-health'), logger.workers[0]!.join(', '));
  const info = (await projector.list()).find((p) => p.name === 'faulty')!;
  t.is(info.status, 'faulted');
  t.regex(info.reason ?? '', /ClientReused.*boom/);
  await t.throwsAsync(projector.catchUp(1000, ['faulty']), { message: /faulted/ });
  await projector.stop();

  const healthy = projections.filter((p) => p !== faulty);
  const threaded = snapshot(stateStore, healthy.map((p) => p.name));
  t.deepEqual(threaded, await singleThreaded(store, healthy));
  t.is(stateStore.readCheckpoint('faulty')?.status, 'faulted');
});

/** Runs the projector child in threaded mode; SIGKILLs it once a worker has committed (unless `kill` is false). */
function runThreadedChild(path: string, kill: boolean): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, '500', 'threads'], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk: Buffer) => {
      if (kill && chunk.toString().includes('progress')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`child exited with ${code}`));
    });
  });
}

test('a projector SIGKILLed while worker threads catch up resumes to the state of a full rebuild', async (t) => {
  const { path, store } = await fileStore(t, 'threads-crash');
  await appendLog(store, simulate(24, 25_000, { users: 200, servers: 4 }).entries);
  const head = (await store.headPosition())!;

  t.is(await runThreadedChild(path, true), 'killed');
  const afterKill = openSqliteProjectionState(path);
  const checkpoints = loadProjectionFiles().map((p) => afterKill.readCheckpoint(p.name)?.position?.commit ?? 0n);
  afterKill.close();
  t.true(checkpoints.some((c) => c > 0n), `a worker committed before the kill (${checkpoints.join(', ')})`);
  t.true(checkpoints.some((c) => c < head.commit), `the kill landed mid catch-up (${checkpoints.join(', ')} of ${head.commit})`);
  t.is(await runThreadedChild(path, false), 'finished');

  const persisted = openSqliteProjectionState(path);
  t.teardown(() => persisted.close());
  const resumed = startProjector({ store, stateStore: persisted, catchUpThreads: 0 });
  await resumed.ready;
  for (const p of await resumed.list()) t.is(p.checkpoint?.commit, head.commit, p.name);
  const expected = expectedStates(await readLog(store));
  t.deepEqual(await projectedStates(resumed, persisted, expected), canonicalExpected(expected));
  await resumed.stop();
  const names = loadProjectionFiles().map((p) => p.name);
  t.deepEqual(snapshot(persisted, names), await singleThreaded(store, loadProjectionFiles()));
});

test('stop() right after a windowed catch-up ends the projector (no subscription left waiting)', async (t) => {
  const { path, store } = await fileStore(t, 'threads-stop');
  await appendLog(store, simulate(25, 300, { users: 5, servers: 2 }).entries);
  for (let i = 0; i < 5; i++) {
    const stateStore = openSqliteProjectionState(path);
    for (const name of stateStore.listProjections()) stateStore.reset(name);
    const projector = startProjector({ store, stateStore, catchUpThreads: 1, threadedCatchUpFrom: 1 });
    await projector.ready;
    await projector.list();
    const stopped = await Promise.race([projector.stop().then(() => true), new Promise((resolve) => setTimeout(resolve, 5000, false))]);
    stateStore.close();
    t.true(stopped, `run ${i}: stop() returned`);
    if (!stopped) return;
  }
});

/** One catch-up worker over `eventsPath` up to position 1, running `source`; keeps what it logs. */
function oneWorker(o: { eventsPath: string; statePath: string; source: string; onIdle?: () => undefined }) {
  const logged: string[] = [];
  const threads = startCatchUpThreads({
    eventsPath: o.eventsPath,
    statePath: o.statePath,
    until: 1,
    eventTimeoutMs: 250,
    maxCachedPartitions: 1000,
    commitIntervalMs: 1000,
    groups: [[{ name: 'only', source: o.source }]],
    onCommitted: () => undefined,
    ...(o.onIdle ? { onIdle: o.onIdle } : {}),
    log: (m) => logged.push(m),
  });
  return { ended: threads.ended, logged };
}

test('a catch-up worker failing on a SQLite error names the error in the log', async (t) => {
  // better-sqlite3's SqliteError is no Error to the structured clone: it arrives as { code }.
  const { path } = await fileStore(t, 'worker-fails');
  const notADatabase = join(dirname(path), 'not-a-database');
  writeFileSync(notADatabase, 'x'.repeat(4096));
  const worker = oneWorker({ eventsPath: path, statePath: notADatabase, source: 'fromAll().when({ $any: function (s) { return s; } })' });
  t.is(await worker.ended, 'failed');
  t.true(worker.logged.some((m) => m.startsWith('a catch-up worker failed') && m.includes('SQLITE_NOTADB')), worker.logged.join('\n'));
});

test('a catch-up worker is answered and ends even when the projector cannot hand it more work', async (t) => {
  const { path, store } = await fileStore(t, 'worker-idle-throws');
  await store.appendToStream('ping-1', { type: 'Pinged', data: {}, metadata: {} });
  const worker = oneWorker({
    eventsPath: path,
    statePath: path,
    source: "fromCategory('ping').when({ $init: function () { return { n: 0 }; }, Pinged: function (s) { s.n++; return s; } })",
    onIdle: () => {
      throw new Error('no more');
    },
  });
  t.is(await worker.ended, 'done');
  t.true(worker.logged.some((m) => m.includes('cannot hand projections') && m.includes('no more')), worker.logged.join('\n'));
});
