import { existsSync } from 'node:fs';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { openProjectionState, openSqliteProjectionState, projectionStatePath } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';
import { firstCommit } from '../../support/projectionCommits.js';
import { tempFile } from '../../support/tempFile.js';

const tablesOf = (path: string): string[] => {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
  } finally {
    db.close();
  }
};

test('projection states live in a file of their own next to the log: no projection tables in the log, no event tables beside the states', async (t) => {
  const path = await tempFile(t, 'events.db');
  const store = await openEventStore(`sqlite:${path}`);
  const states = openProjectionState(`sqlite:${path}`);
  t.teardown(async () => { states.close(); await store.close(); });
  states.commit(firstCommit('{"n":1}'));
  t.is(states.path, projectionStatePath(path));
  t.is(projectionStatePath(path), path.replace(/events\.db$/, 'events.projections.db'));
  t.is(projectionStatePath('/data/log'), '/data/log-projections.db');
  t.not(projectionStatePath('/data/events'), projectionStatePath('/data/events.db'), 'two logs never share a state file');
  t.deepEqual(tablesOf(states.path!), ['projection_checkpoints', 'projection_meta', 'projection_states']);
  t.false(tablesOf(path).some((name) => name.startsWith('projection_')));
  t.is(openProjectionState('sqlite::memory:').path, undefined, 'memory logs keep memory states');
});

test('an event append commits while the state file is locked for writing, and a state commit while the log is', async (t) => {
  const path = await tempFile(t, 'events.db');
  // Inline writer, 1 ms busy timeout: a commit that had to wait for the states' lock would fail.
  const store = await openEventStore(`sqlite:${path}?writer=inline&busyTimeoutMs=1`);
  const states = openProjectionState(`sqlite:${path}?busyTimeoutMs=1`);
  t.teardown(async () => { states.close(); await store.close(); });
  const holder = new BetterSqlite3(states.path!);
  t.teardown(() => holder.open && holder.close());
  holder.exec('BEGIN IMMEDIATE');
  const appended = await store.appendToStream('order-1', { type: 'Placed', data: {} });
  t.is(appended.nextExpectedRevision, 0n);
  holder.exec('ROLLBACK');

  const logHolder = new BetterSqlite3(path);
  t.teardown(() => logHolder.open && logHolder.close());
  logHolder.exec('BEGIN IMMEDIATE');
  states.commit(firstCommit('{"n":1}'), { wait: false });
  logHolder.exec('ROLLBACK');
  t.is(states.readState('x', ''), '{"n":1}');
});

test('states an earlier version kept in the log file are copied over once, with their checkpoints, and a reset does not bring them back', async (t) => {
  const path = await tempFile(t, 'events.db');
  const legacy = openSqliteProjectionState(path);
  legacy.commit(firstCommit('{"n":1}'));
  legacy.close();

  const states = openProjectionState(`sqlite:${path}`);
  t.is(states.readState('x', ''), '{"n":1}');
  t.deepEqual(states.readCheckpoint('x'), { position: { commit: 1n, prepare: 1n }, sourceHash: 'h', status: 'running', reason: null });
  // Moved on in the new file: opening again does not bring the old state back.
  states.commit([{ name: 'x', expected: { commit: 1n, prepare: 1n }, checkpoint: { position: { commit: 2n, prepare: 2n }, sourceHash: 'h', status: 'running', reason: null }, partitions: [['', '{"n":2}']] }]);
  states.close();
  const again = openProjectionState(`sqlite:${path}`);
  t.is(again.readState('x', ''), '{"n":2}');
  t.is(again.readCheckpoint('x')?.position?.commit, 2n);
  // A rebuild starts from nothing, whatever the log file still holds.
  again.reset('x');
  again.close();
  const rebuilt = openProjectionState(`sqlite:${path}`);
  t.teardown(() => rebuilt.close());
  t.is(rebuilt.readCheckpoint('x'), undefined);
  t.deepEqual(rebuilt.listProjections(), []);
});

test('legacy tables of another layout are left alone: the new state file starts empty and the log file is not created', async (t) => {
  const path = await tempFile(t, 'events.db');
  const old = new BetterSqlite3(path);
  old.exec(`CREATE TABLE projection_checkpoints (name TEXT PRIMARY KEY, position TEXT);
    CREATE TABLE projection_states (name TEXT, partition TEXT, state TEXT);
    INSERT INTO projection_checkpoints VALUES ('x', '5');`);
  old.close();
  const states = openProjectionState(`sqlite:${path}`);
  t.is(states.readCheckpoint('x'), undefined);
  t.deepEqual(states.listProjections(), []);
  states.close();

  const fresh = await tempFile(t, 'other.db');
  const alone = openProjectionState(`sqlite:${fresh}`);
  alone.close();
  t.false(existsSync(fresh), 'opening the states does not create the log file');
});
