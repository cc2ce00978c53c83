import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadProjectionFiles, startProjector } from '../../../src/projector/index.js';
import { ProjectionRuntime } from '../../../src/projector/projectionRuntime.js';
import { catchUpByWindows, handledTypes } from '../../../src/projector/windowCatchUp.js';
import { createMemoryProjectionState, openSqliteProjectionState } from '../../../src/store/projectionState/index.js';
import type { ProjectionStateStore } from '../../../src/store/projectionState/types.js';
import { openEventStore } from '../../../src/store/index.js';
import { openLogWindowReader } from '../../../src/store/sqlite/logWindowReader.js';
import { appendLog, simulate } from '../../support/projections/logGenerator.js';

const TAIL = 30;

/** A file log: a simulated one, then {@link TAIL} events of a type no projection handles. */
async function fileLog(t: ExecutionContext) {
  const dir = mkdtempSync(join(tmpdir(), 'projector-windows-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.db');
  const store = await openEventStore(`sqlite:${path}?synchronous=normal`);
  t.teardown(() => store.close());
  await appendLog(store, simulate(31, 1500, { users: 15, servers: 3 }).entries);
  for (let i = 0; i < TAIL; i++) await store.appendToStream(`misc-${i}`, { type: 'Unrelated', data: { i }, metadata: {} });
  return { path, store, head: Number((await store.headPosition())!.commit) };
}

const options = { eventTimeoutMs: 250, maxCachedPartitions: 100_000, log: () => undefined };

function runtimesOn(stateStore: ProjectionStateStore): ProjectionRuntime[] {
  return loadProjectionFiles().map((f) => {
    const r = new ProjectionRuntime(f, stateStore, options);
    r.open();
    return r;
  });
}

function statesOf(stateStore: ProjectionStateStore) {
  return Object.fromEntries(
    loadProjectionFiles().map(({ name }) => [
      name,
      { checkpoint: stateStore.readCheckpoint(name)?.position?.commit ?? null, partitions: stateStore.listPartitions(name).map((p) => [p, stateStore.readState(name, p)]) },
    ]),
  );
}

test('the window reader hands out only the asked types and says how far each window reached', async (t) => {
  const { path, head } = await fileLog(t);
  const only = openLogWindowReader(path, { eventTypes: ['Unrelated'] });
  t.teardown(() => only.close());
  t.is(only.head(), head);
  const tail = only.read(0, head, head);
  t.is(tail.through, head);
  t.deepEqual(tail.events.map((e) => (e.data as { i: number }).i), Array.from({ length: TAIL }, (_, i) => i));
  t.deepEqual(only.read(0, 100, head), { events: [], through: 100 });
  t.deepEqual(only.read(head, 100, head), { events: [], through: head });

  const all = openLogWindowReader(path);
  t.teardown(() => all.close());
  const window = all.read(10, 25, head);
  t.is(window.through, 35);
  t.deepEqual(window.events.map((e) => Number(e.position.commit)), Array.from({ length: 25 }, (_, i) => 11 + i));

  // The type mix counts every type after the position, whatever types the reader hands out.
  t.deepEqual([...only.typeCounts(head - TAIL)], [['Unrelated', TAIL]]);
  const mix = all.typeCounts(0);
  t.is([...mix.values()].reduce((a, b) => a + b, 0), head);
  const byHand = new Map<string, number>();
  for (const e of all.read(0, head, head).events) byHand.set(e.type, (byHand.get(e.type) ?? 0) + 1);
  t.deepEqual(new Map([...mix].sort()), new Map([...byHand].sort()));
});

test('handled types are the union of the handlers, or every type when one projection has $any', (t) => {
  const stateStore = createMemoryProjectionState();
  const runtimes = runtimesOn(stateStore);
  const types = handledTypes(runtimes)!;
  t.true(types.includes('FlowInitiated') && types.includes('ServerRegistered') && types.includes('ConnectionAttemptStarted'));
  t.false(types.includes('$init') || types.includes('BrowserBound'));
  const any = new ProjectionRuntime({ name: 'any', source: 'fromAll().when({ $any: function (s) { return s; } })' }, stateStore, options);
  any.open();
  t.is(handledTypes([...runtimes, any]), undefined);
});

test('a catch-up by windows stores what the projector thread stores, checkpoints at the head past skipped events', async (t) => {
  const { path, store, head } = await fileLog(t);
  const stateStore = openSqliteProjectionState(path);
  t.teardown(() => stateStore.close());
  const runtimes = runtimesOn(stateStore);
  const reader = openLogWindowReader(path, { eventTypes: handledTypes(runtimes)! });
  t.teardown(() => reader.close());
  let commits = 0;
  const result = await catchUpByWindows({ reader, stateStore, runtimes, until: head, ...options, commitIntervalMs: 0, window: 200, onCommitted: () => void commits++ });
  t.deepEqual(result, { kind: 'done' });
  t.true(commits >= 7, `commitIntervalMs 0 commits every window (${commits})`);
  for (const r of runtimes) t.is(r.position?.commit, BigInt(head), r.name);

  const reference = createMemoryProjectionState();
  const projector = startProjector({ store, stateStore: reference, catchUpThreads: 0 });
  await projector.ready;
  await projector.stop();
  t.deepEqual(statesOf(stateStore), statesOf(reference));
});

test('a stopped catch-up commits what it applied; resumed, it ends where an uninterrupted one does', async (t) => {
  const { path, store, head } = await fileLog(t);
  const stateStore = openSqliteProjectionState(path);
  t.teardown(() => stateStore.close());
  const reader = openLogWindowReader(path);
  t.teardown(() => reader.close());
  let windows = 0;
  const first = await catchUpByWindows({ reader, stateStore, runtimes: runtimesOn(stateStore), until: head, ...options, commitIntervalMs: 60_000, window: 200, stopRequested: () => windows++ === 1 });
  t.deepEqual(first, { kind: 'stopped' });
  const stopped = stateStore.readCheckpoint('flow-status')!.position!.commit;
  t.true(stopped > 0n && stopped < BigInt(head), `stopped at ${stopped} of ${head}`);

  const second = await catchUpByWindows({ reader, stateStore, runtimes: runtimesOn(stateStore), until: head, ...options, commitIntervalMs: 60_000 });
  t.deepEqual(second, { kind: 'done' });
  const reference = createMemoryProjectionState();
  const projector = startProjector({ store, stateStore: reference, catchUpThreads: 0 });
  await projector.ready;
  await projector.stop();
  t.deepEqual(statesOf(stateStore), statesOf(reference));
});
