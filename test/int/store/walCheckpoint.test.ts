import test from 'ava';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { createWalCheckpointer, RESTART_AFTER_FRAMES } from '../../../src/store/sqlite/walCheckpoint.js';
import { tempFile } from '../../support/tempFile.js';

/** A WAL file with `frames` pages or more in it (a connection that never checkpoints). */
function walWith(path: string, frames: number): Database {
  const writer = new BetterSqlite3(path);
  writer.pragma('journal_mode = WAL');
  writer.pragma('wal_autocheckpoint = 0');
  writer.pragma('synchronous = OFF');
  writer.exec('CREATE TABLE t (x TEXT)');
  const insert = writer.prepare('INSERT INTO t (x) VALUES (?)');
  // One row of ~3.9 KiB per transaction: a page (and its frame) each.
  for (let i = 0; i < frames; i++) insert.run('x'.repeat(3900));
  return writer;
}

test('a WAL past its restart size starts over after the checkpoint', async (t) => {
  const path = await tempFile(t);
  const writer = walWith(path, RESTART_AFTER_FRAMES + 50);
  t.teardown(() => writer.close());
  const thread = new BetterSqlite3(path);
  t.teardown(() => thread.close());
  const checkpoint = createWalCheckpointer(thread, 10_000);
  const outcome = checkpoint();
  t.true(outcome.log >= RESTART_AFTER_FRAMES);
  t.is(outcome.restart, 'done');
  // The next write starts the WAL over: a one-page transaction leaves a WAL of a few frames.
  writer.prepare('INSERT INTO t (x) VALUES (?)').run('y');
  t.true(checkpoint().log < 10, 'the WAL started over');
});

test('a reader holding the WAL delays a RESTART by milliseconds, not the busy timeout, and the next one is put off', async (t) => {
  const path = await tempFile(t);
  const writer = walWith(path, 10);
  t.teardown(() => writer.close());
  // Another process's long read (a backup, a shell's open transaction) pins the WAL.
  const reader = new BetterSqlite3(path);
  t.teardown(() => reader.close());
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM t').get();
  const insert = writer.prepare('INSERT INTO t (x) VALUES (?)');
  for (let i = 0; i < RESTART_AFTER_FRAMES; i++) insert.run('x'.repeat(3900));

  const thread = new BetterSqlite3(path);
  t.teardown(() => thread.close());
  let clock = 0;
  const checkpoint = createWalCheckpointer(thread, 10_000, () => clock);
  const t0 = performance.now();
  const first = checkpoint();
  const waited = performance.now() - t0;
  t.is(first.restart, 'gave up');
  t.true(waited < 2_000, `the RESTART waited ${waited.toFixed(0)} ms (the busy timeout is 10 s)`);
  // It let go of the write lock: a write on another connection goes through at once.
  writer.pragma('busy_timeout = 0');
  t.notThrows(() => insert.run('z'));
  t.is(thread.pragma('busy_timeout', { simple: true }), 10_000, 'the busy timeout is restored');
  clock = 500;
  t.is(checkpoint().restart, undefined, 'within the back-off no RESTART is tried');
  clock = 1_000;
  t.is(checkpoint().restart, 'gave up', 'after it, one is');
  clock = 2_999;
  t.is(checkpoint().restart, undefined, 'and the next back-off is twice as long');
  reader.exec('COMMIT');
  clock = 3_000;
  t.is(checkpoint().restart, 'done', 'once the reader has left, the WAL restarts');
});
