import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { startProjector, type ProjectionSource } from '../../../src/projector/index.js';
import { openSqliteProjectionState, StateStoreBusyError } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';
import { holdLockElsewhere } from '../../support/lockHeldElsewhere.js';
import { watchLoopStalls } from '../../support/loopStalls.js';
import { firstCommit } from '../../support/projectionCommits.js';
import { tempFile } from '../../support/tempFile.js';

const COUNTER: ProjectionSource = {
  name: 'counter',
  source: `fromCategory('order').foreachStream().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })`,
};


test.serial('a commit that may not wait is refused at once as busy while another process holds the write lock, stores nothing, and leaves waiting commits waiting', async (t) => {
  const path = await tempFile(t);
  const states = openSqliteProjectionState(path, { busyTimeoutMs: 5000 });
  t.teardown(() => states.close());
  const { released } = await holdLockElsewhere(t, path, 300);
  const started = performance.now();
  t.throws(() => states.commit(firstCommit('{"n":1}'), { wait: false }), { instanceOf: StateStoreBusyError });
  t.true(performance.now() - started < 150, 'refused without waiting for the lock');
  t.is(states.readCheckpoint('x'), undefined, 'nothing of the refused commit was stored');
  // The connection's busy timeout is back: this one waits until the other process lets go.
  states.commit(firstCommit('{"n":2}'));
  t.true(performance.now() - started > 100, 'the waiting commit waited for the lock');
  t.is(states.readState('x', ''), '{"n":2}');
  t.is(states.readCheckpoint('x')?.position?.commit, 1n);
  await released;
});

test.serial('a live projector never stalls the event loop on a write lock held elsewhere, and stores its states once the lock is free', async (t) => {
  const path = await tempFile(t);
  const store = await openEventStore(`sqlite:${path}`);
  const stateStore = openSqliteProjectionState(path);
  const projector = startProjector({ store, stateStore, projections: [COUNTER] });
  t.teardown(async () => {
    await projector.stop();
    stateStore.close();
    await store.close();
  });
  await store.appendToStream('order-1', { type: 'Placed', data: {} });
  await projector.ready;
  await projector.catchUp(5000);

  await store.appendToStream('order-1', { type: 'Placed', data: {} });
  // Taken before the projector's live flush (it runs on a later turn), held 300 ms.
  const holder = new BetterSqlite3(path);
  t.teardown(() => holder.open && holder.close());
  holder.exec('BEGIN IMMEDIATE');
  const head = (await store.headPosition())!.commit;
  const stalls = watchLoopStalls();
  await projector.catchUp(5000);
  t.deepEqual(await projector.getState('counter', 'order-1'), { n: 2 }, 'applied (and readable) while the lock is held');
  await new Promise((r) => setTimeout(r, 300));
  t.not(stateStore.readCheckpoint('counter')?.position?.commit, head, 'not stored while the lock is held');
  holder.exec('COMMIT');
  holder.close();
  for (let i = 0; i < 200 && stateStore.readCheckpoint('counter')?.position?.commit !== head; i++) await new Promise((r) => setTimeout(r, 10));
  const longestStall = stalls.stop();
  t.is(stateStore.readCheckpoint('counter')?.position?.commit, head, 'stored once the lock was free');
  t.is(stateStore.readState('counter', 'order-1'), JSON.stringify({ n: 2 }));
  t.true(longestStall < 150, `the loop never stalled while the lock was held (longest gap ${longestStall.toFixed(0)} ms)`);
});

test.serial('stop() stores what a live projector applied even while another process holds the write lock', async (t) => {
  const path = await tempFile(t);
  const store = await openEventStore(`sqlite:${path}`);
  const stateStore = openSqliteProjectionState(path);
  t.teardown(async () => {
    stateStore.close();
    await store.close();
  });
  // A long live window: the second append is applied but its commit put off until stop().
  const projector = startProjector({ store, stateStore, projections: [COUNTER], liveCommitIntervalMs: 60_000 });
  await store.appendToStream('order-1', { type: 'Placed', data: {} });
  await projector.ready;
  await projector.catchUp(5000);
  await store.appendToStream('order-1', { type: 'Placed', data: {} });
  await projector.catchUp(5000);
  const head = (await store.headPosition())!.commit;
  t.not(stateStore.readCheckpoint('counter')?.position?.commit, head, 'applied, not stored yet');
  const { released } = await holdLockElsewhere(t, path, 200);
  await projector.stop();
  t.is(stateStore.readCheckpoint('counter')?.position?.commit, head, 'stop() waited for the lock and stored');
  t.is(stateStore.readState('counter', 'order-1'), JSON.stringify({ n: 2 }));
  await released;
});
