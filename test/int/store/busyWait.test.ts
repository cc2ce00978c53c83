import test from 'ava';
import { openSqliteProjectionState, StateStoreBusyError } from '../../../src/store/projectionState/index.js';
import { openSqliteEventStore } from '../../../src/store/sqlite/sqliteEventStore.js';
import { holdLockElsewhere, profileThisThread } from '../../support/lockHeldElsewhere.js';
import { firstCommit } from '../../support/projectionCommits.js';
import { tempFile } from '../../support/tempFile.js';

// SQLite's busy handler counts its sleeps instead of timing them. Under a CPU profiler (SIGPROF
// every 50 µs here) each sleep ends early, and a 5 s busy timeout used to run out within
// milliseconds: a catch-up worker's commit failed and the projector fell back to re-reading the
// whole log. Writes that may wait now wait the busy timeout in real time.


test.serial('a waiting state commit waits out a write lock held elsewhere while a profiler interrupts its sleeps', async (t) => {
  const path = await tempFile(t);
  const states = openSqliteProjectionState(path, { busyTimeoutMs: 5000 });
  t.teardown(() => states.close());
  const stopProfiling = await profileThisThread(t);
  const { released } = await holdLockElsewhere(t, path, 500);
  const started = performance.now();
  states.commit(firstCommit('{"n":1}'));
  const waited = performance.now() - started;
  await stopProfiling();
  t.true(waited > 300, `the commit waited for the lock (${Math.round(waited)} ms)`);
  t.is(states.readState('x', ''), '{"n":1}');
  await released;
});

test.serial('a commit that may not wait is still refused at once while a profiler runs', async (t) => {
  const path = await tempFile(t);
  const states = openSqliteProjectionState(path, { busyTimeoutMs: 5000 });
  t.teardown(() => states.close());
  await profileThisThread(t);
  const { released } = await holdLockElsewhere(t, path, 300);
  const started = performance.now();
  t.throws(() => states.commit(firstCommit('{"n":1}'), { wait: false }), { instanceOf: StateStoreBusyError });
  t.true(performance.now() - started < 150, 'refused without waiting');
  t.is(states.readCheckpoint('x'), undefined);
  await released;
});

test.serial('an append on the caller\'s connection waits out a write lock held elsewhere while a profiler interrupts its sleeps', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path, writer: 'inline', busyTimeoutMs: 5000 });
  t.teardown(() => store.close());
  await store.appendToStream('s-1', { type: 'A', data: {} });
  await profileThisThread(t);
  const { released } = await holdLockElsewhere(t, path, 500);
  const started = performance.now();
  const result = await store.appendToStream('s-1', { type: 'B', data: {} }, { expectedRevision: 0n });
  t.true(performance.now() - started > 300, 'the append waited for the lock');
  t.is(result.nextExpectedRevision, 1n);
  await released;
});
