import test from 'ava';
import { statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { WrongExpectedVersionError } from '../../../src/store/errors.js';
import { groupCommitFor, type CommitInfo } from '../../../src/store/sqlite/groupCommit.js';
import { openSqliteEventStore } from '../../../src/store/sqlite/sqliteEventStore.js';
import { judgedCommitMs, stopWriterThread } from '../../../src/store/sqlite/writerThread.js';
import { watchLoopStalls } from '../../support/loopStalls.js';
import { collect } from '../../support/storeContract/harness.js';
import { tempFile } from '../../support/tempFile.js';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

test.serial('a revision conflict comes back from the writer thread as WrongExpectedVersionError with both revisions', async (t) => {
  // slowCommitMs 0: every durable commit counts as slow, so contending writers use the thread.
  const store = openSqliteEventStore({ path: await tempFile(t), slowCommitMs: 0 });
  t.teardown(() => store.close());
  await store.appendToStream('s-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }]);
  const inline: CommitInfo[] = [];
  groupCommitFor(store.sharedAccess().db).onCommitted((c) => inline.push(c));
  // Two durable writers in one turn: the thread commits them.
  const [other, conflict] = await Promise.allSettled([
    store.appendToStream('s-2', { type: 'X', data: {} }),
    store.appendToStream('s-1', { type: 'C', data: {} }, { expectedRevision: 0n }),
  ]);
  t.is(other.status, 'fulfilled');
  t.deepEqual(inline, [], 'committed on the writer thread');
  const err = conflict.status === 'rejected' ? (conflict.reason as Error) : undefined;
  t.true(err instanceof WrongExpectedVersionError);
  t.like(err, { code: 'wrong_expected_version', streamName: 's-1', expectedVersion: 0n, actualVersion: 1n });
});

test.serial('a stopped writer thread fails only writes in flight, retries by event id are safe, and the next write starts a new thread', async (t) => {
  // Contending writers on a slow disk (slowCommitMs 0): the 40 writes go to the thread.
  const store = openSqliteEventStore({ path: await tempFile(t), slowCommitMs: 0 });
  t.teardown(() => store.close());
  await store.appendToStream('s-1', { id: id(0), type: 'E', data: { n: 0 } });
  const inFlight = Array.from({ length: 40 }, (_, i) =>
    store.appendToStream('s-1', { id: id(i + 1), type: 'E', data: { n: i + 1 } }, { expectedRevision: 'any' }),
  );
  await new Promise((r) => setImmediate(r)); // handed to the thread: in flight
  await stopWriterThread();
  const settled = await Promise.allSettled(inFlight);
  t.log(`${settled.filter((s) => s.status === 'rejected').length} of 40 writes in flight failed with the thread`);
  for (const s of settled) {
    if (s.status === 'rejected') t.like(s.reason, { code: 'store_unavailable' });
  }
  // Whatever the outcome was, the same append again is answered, never written twice.
  for (let i = 0; i < 40; i++) await store.appendToStream('s-1', { id: id(i + 1), type: 'E', data: { n: i + 1 } }, { expectedRevision: 'any' });
  const events = await collect(store.readStream('s-1'));
  t.is(events.length, 41);
  t.deepEqual(new Set(events.map((e) => e.id)).size, 41);
  t.deepEqual(events.map((e) => e.revision), events.map((_, i) => BigInt(i)));
});

test.serial('a deferred append commits without fsync, a durable one in the same group makes the group durable, and FULL stays the level', async (t) => {
  // Inline writer: the group commit's report is observable on the caller's connection.
  const store = openSqliteEventStore({ path: await tempFile(t), writer: 'inline' });
  t.teardown(() => store.close());
  const commits: Array<Pick<CommitInfo, 'durable'>> = [];
  groupCommitFor(store.sharedAccess().db).onCommitted((c) => commits.push({ durable: c.durable }));

  await store.appendToStream('s-1', { type: 'A', data: {} }, { durability: 'deferred' });
  t.deepEqual(commits, [{ durable: false }]);
  await Promise.all([
    store.appendToStream('s-2', { type: 'B', data: {} }, { durability: 'deferred' }),
    store.appendToStreams([{ streamId: 's-3', events: { type: 'C', data: {} } }]),
  ]);
  t.deepEqual(commits, [{ durable: false }, { durable: true }]);
  await store.appendToStreams([{ streamId: 's-4', events: { type: 'D', data: {} } }], { durability: 'deferred' });
  t.deepEqual(commits.at(-1), { durable: false });
  t.is(store.settings().synchronous, 'full');
  // Visible to another connection at once, like any commit.
  const reader = openSqliteEventStore({ path: (store as { path: string }).path, writer: 'inline' });
  t.teardown(() => reader.close());
  t.deepEqual((await collect(reader.readAll())).map((e) => e.streamId), ['s-1', 's-2', 's-3', 's-4']);
});

test.serial('a synchronous=normal store keeps its level once the group commit exists (no pragma applied ahead of use)', async (t) => {
  const store = openSqliteEventStore({ path: await tempFile(t), synchronous: 'normal', writer: 'inline' });
  t.teardown(() => store.close());
  const commits: Array<Pick<CommitInfo, 'durable'>> = [];
  groupCommitFor(store.sharedAccess().db).onCommitted((c) => commits.push({ durable: c.durable }));
  await store.appendToStream('s-1', { type: 'A', data: {} });
  await store.appendToStream('s-1', { type: 'B', data: {} }, { durability: 'deferred' });
  t.is(store.settings().synchronous, 'normal');
  t.deepEqual(commits, [{ durable: false }, { durable: false }]);
});

test.serial('on a slow disk a lone writer commits on its own connection; once writers contend, durable writes go to the thread for a while, a turn whole', async (t) => {
  const store = openSqliteEventStore({ path: await tempFile(t), slowCommitMs: 0 });
  t.teardown(() => store.close());
  // The thread boots once (a few hundred ms under tsx), then stays quiet past the window.
  await Promise.all([store.appendToStream('warm-1', { type: 'W', data: {} }), store.appendToStream('warm-2', { type: 'W', data: {} })]);
  await new Promise((r) => setTimeout(r, 300));
  const inline: Array<Pick<CommitInfo, 'durable'>> = [];
  groupCommitFor(store.sharedAccess().db).onCommitted((c) => inline.push({ durable: c.durable }));

  await store.appendToStream('s-1', { type: 'A', data: {} }, { durability: 'deferred' });
  await store.appendToStream('s-1', { type: 'B', data: {} });
  t.deepEqual(inline, [{ durable: false }, { durable: true }], 'one writer at a time: both commit inline, the durable one fsynced');

  const [c, d] = await Promise.all([
    store.appendToStream('s-2', { type: 'C', data: {} }),
    store.appendToStream('s-3', { type: 'D', data: {} }),
  ]);
  t.is(inline.length, 2, 'two durable writers in one turn go to the thread');
  t.is(d.position.commit, c.position.commit + 1n, 'one transaction, in order');
  await store.appendToStream('s-4', { type: 'E', data: {} });
  t.is(inline.length, 2, 'right after contention a lone durable write still goes to the thread');
  await store.appendToStream('s-4', { type: 'F', data: {} }, { durability: 'deferred' });
  t.deepEqual(inline.at(-1), { durable: false }, 'a write needing no fsync commits inline whenever the thread is idle');

  await new Promise((r) => setTimeout(r, 300));
  await store.appendToStream('s-4', { type: 'G', data: {} });
  t.deepEqual(inline.at(-1), { durable: true }, 'after a quiet spell the lone writer is back on its own connection');
  t.deepEqual((await collect(store.readAll())).map((e) => e.type), ['W', 'W', 'A', 'B', 'C', 'D', 'E', 'F', 'G']);
});

test.serial('on a fast disk contending durable writers commit on the caller\'s connection, in one transaction', async (t) => {
  // "Fast" pinned (a busy CI disk must not make this test about the slow path).
  const store = openSqliteEventStore({ path: await tempFile(t), slowCommitMs: 60_000 });
  t.teardown(() => store.close());
  const inline: CommitInfo[] = [];
  groupCommitFor(store.sharedAccess().db).onCommitted((c) => inline.push(c));
  await store.appendToStream('s-0', { type: 'Lone', data: {} });
  const [c, d] = await Promise.all([
    store.appendToStream('s-1', { type: 'C', data: {} }),
    store.appendToStream('s-2', { type: 'D', data: {} }),
  ]);
  t.is(d.position.commit, c.position.commit + 1n, 'one transaction, in order');
  t.deepEqual(inline.map((x) => x.durable), [true, true], 'both turns fsynced on the caller\'s connection');
  t.deepEqual(inline.map((x) => x.jobs), [1, 2], 'each commit reports the jobs it held');
  t.true(inline.every((x) => x.commitMs > 0), 'each commit reports its COMMIT time');
  t.log(`durable COMMITs took ${inline.map((x) => x.commitMs.toFixed(2)).join(', ')} ms`);
  const [e, f] = await Promise.all([
    store.appendToStream('s-3', { type: 'E', data: {} }),
    store.appendToStream('s-4', { type: 'F', data: {} }),
  ]);
  t.is(f.position.commit, e.position.commit + 1n);
  t.is(inline.length, 3, 'contention does not move them to the thread while the disk is fast');
});

test('a durable commit of many jobs is judged without the frames its jobs add, a slow fsync in full', (t) => {
  t.is(judgedCommitMs(8, 1), 8);
  t.is(judgedCommitMs(8, 20), 8);
  t.true(judgedCommitMs(12, 200) < 10, 'a wave of 200 completions in 12 ms: a fast disk');
  t.true(judgedCommitMs(9 + 40, 200) >= 40, 'the same wave behind a 40 ms fsync: a slow one');
});

test.serial('on a fast disk a turn after one refused as busy waits for the thread, then commits inline, in order', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path, slowCommitMs: 60_000 });
  t.teardown(() => store.close());
  await store.appendToStream('s-0', { type: 'Seed', data: {} });
  const holder = new BetterSqlite3(path);
  t.teardown(() => holder.close());
  // The thread's first start takes a few hundred ms under tsx: a write refused as busy starts it.
  holder.exec('BEGIN IMMEDIATE');
  const warm = store.appendToStream('s-warm', { type: 'W', data: {} });
  await new Promise((r) => setTimeout(r, 20));
  holder.exec('COMMIT');
  await warm;
  const commits: number[] = [];
  groupCommitFor(store.sharedAccess().db).onCommitted(() => commits.push(commits.length));
  holder.exec('BEGIN IMMEDIATE');
  const a = store.appendToStream('s-a', { type: 'A', data: {} });
  await new Promise((r) => setTimeout(r, 20)); // refused as busy: on the thread, waiting for the lock
  const before = commits.length;
  const b = store.appendToStream('s-b', { type: 'B', data: {} });
  await new Promise((r) => setTimeout(r, 50));
  t.is(commits.length, before, 'B waits instead of committing (the lock is still held)');
  holder.exec('COMMIT');
  const [ra, rb] = await Promise.all([a, b]);
  t.true(rb.position.commit > ra.position.commit, 'B after A');
  t.is(commits.length, before + 1, 'B committed on the caller\'s connection, A on the thread');
  t.deepEqual((await collect(store.readAll())).map((e) => e.type), ['Seed', 'W', 'A', 'B']);
});

test.serial('while writers contend the thread checkpoints; a lone writer\'s connection checkpoints by itself', async (t) => {
  const path = await tempFile(t);
  // "Fast" pinned: on a slow disk contended turns would commit on the thread's connection.
  const store = openSqliteEventStore({ path, slowCommitMs: 60_000 });
  t.teardown(() => store.close());
  const db = store.sharedAccess().db;
  const autocheckpoint = () => db.pragma('wal_autocheckpoint', { simple: true });
  await store.appendToStream('s-lone', { type: 'E', data: {} });
  t.is(autocheckpoint(), 1000, 'alone: SQLite\'s own checkpoints on the caller\'s connection');
  const fileBytes = () => statSync(path).size;
  const before = fileBytes();
  // 320 turns of two durable writers (~1,300 pages as the thread's asks count them, two a job),
  // well under the connection's own checkpoint, so only the checkpoint asked of the thread
  // copies them into the database file.
  const pad = 'x'.repeat(1500);
  for (let i = 0; i < 320; i++) {
    await Promise.all([store.appendToStream(`a-${i}`, { type: 'E', data: { pad } }), store.appendToStream(`b-${i}`, { type: 'E', data: { pad } })]);
  }
  t.is(autocheckpoint(), 10_000, 'contending: the connection keeps only a safety net');
  const until = Date.now() + 10_000;
  while (fileBytes() === before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.true(fileBytes() > before, `the database file grew from ${before} bytes once the thread checkpointed (now ${fileBytes()})`);
  await new Promise((r) => setTimeout(r, 2100));
  await store.appendToStream('s-lone', { type: 'E', data: {} });
  t.is(autocheckpoint(), 1000, 'alone again after a quiet spell');
  t.is((await collect(store.readAll())).length, 642);
});

test.serial('turns of many writers each ask the thread to checkpoint: the pages count, not the commits, and the WAL stays short', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path, slowCommitMs: 60_000 });
  t.teardown(() => store.close());
  await store.appendToStream('s-0', { type: 'Seed', data: {} });
  const fileBytes = (suffix = '') => statSync(`${path}${suffix}`).size;
  const before = fileBytes();
  // Forty turns of 300 durable writers (as under bench/http's waves): ~15,000 WAL pages in
  // forty commits. Left to the connection's own safety net, the WAL would reach 10,000 pages.
  const pad = 'x'.repeat(1500);
  for (let turn = 0; turn < 40; turn++) {
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.appendToStream(`w-${turn}-${i}`, { type: 'E', data: { pad } })));
  }
  t.is(store.sharedAccess().db.pragma('wal_autocheckpoint', { simple: true }), 10_000, 'the connection only keeps its safety net');
  t.true(fileBytes() > before, `the thread copied the WAL into the database file (${before} bytes, now ${fileBytes()})`);
  const walPages = Math.round(fileBytes('-wal') / 4120);
  t.true(walPages < 9000, `the WAL grew to ${walPages} pages: the connection's own checkpoint (at 10,000) was near`);
});

test.serial('checkpoints stay on the thread between waves of writers a few hundred ms apart', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path, slowCommitMs: 60_000 });
  t.teardown(() => store.close());
  const db = store.sharedAccess().db;
  const autocheckpoint = () => db.pragma('wal_autocheckpoint', { simple: true });
  for (let wave = 0; wave < 3; wave++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(`w-${wave}-${i}`, { type: 'E', data: {} })));
    t.is(autocheckpoint(), 10_000, `wave ${wave}: contending`);
    await new Promise((r) => setTimeout(r, 300));
    // A turn with one writer between the waves: set back to 1000 pages, the connection's next
    // commit would copy the whole WAL on the event loop.
    await store.appendToStream('s-between', { type: 'E', data: {} });
    t.is(autocheckpoint(), 10_000, `after wave ${wave}: still the thread's`);
  }
});

test.serial('an inline commit never waits for a lock held elsewhere: the turn goes to the thread and the event loop keeps running', async (t) => {
  const path = await tempFile(t);
  const store = openSqliteEventStore({ path });
  t.teardown(() => store.close());
  await store.appendToStream('s-0', { type: 'Seed', data: {} });
  // Another connection (as a catch-up worker or another process would) holds the write lock.
  const holder = new BetterSqlite3(path);
  holder.exec('BEGIN IMMEDIATE');
  const stalls = watchLoopStalls();
  const pending = store.appendToStream('s-1', { type: 'A', data: {} }, { durability: 'deferred' });
  await new Promise((r) => setTimeout(r, 200));
  holder.exec('COMMIT');
  holder.close();
  await pending;
  const longestStall = stalls.stop();
  t.true(longestStall < 150, `the loop never stalled while the lock was held (longest gap ${longestStall.toFixed(0)} ms)`);
  t.deepEqual((await collect(store.readStream('s-1'))).map((e) => e.type), ['A']);
});
