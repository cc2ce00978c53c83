import type { Database } from 'better-sqlite3';
import { isBusy, waitingForLock, withBusyTimeout } from '../sqlite/busy.js';
import { openDatabase } from '../sqlite/openDatabase.js';
import { DEFAULT_BUSY_TIMEOUT_MS, MEMORY_PATH } from '../sqlite/sqliteOptions.js';
import type { Position } from '../types.js';
import {
  CheckpointConflictError,
  samePosition,
  StateStoreBusyError,
  type ProjectionCommit,
  type ProjectionRunStatus,
  type ProjectionStateStore,
  type StoredCheckpoint,
} from './types.js';

/**
 * Own tables in the event store's file, created if missing (they are not part of the event
 * log's migrations: dropping them only costs a rebuild). Positions are TEXT because they are
 * bigints on the port.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name        TEXT PRIMARY KEY,
    commit_pos  TEXT,
    prepare_pos TEXT,
    source_hash TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT
  );
  CREATE TABLE IF NOT EXISTS projection_states (
    name      TEXT NOT NULL,
    partition TEXT NOT NULL,
    state     TEXT NOT NULL,
    PRIMARY KEY (name, partition)
  ) WITHOUT ROWID;`;

interface CheckpointRow {
  commit_pos: string | null;
  prepare_pos: string | null;
  source_hash: string;
  status: ProjectionRunStatus;
  reason: string | null;
}

const toPosition = (row: CheckpointRow): Position | null =>
  row.commit_pos === null ? null : { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos ?? row.commit_pos) };

const byKey = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Partition states sorted by key (a copy). Inserted in key order, a large commit (a rebuild's)
 * fills neighbouring B-tree pages one after the other instead of touching a random leaf per
 * row, which keeps the pages in SQLite's cache and the WAL frames few: measured 1.4-2x faster
 * for 51k partitions (flow ids are random).
 */
const inKeyOrder = (partitions: Array<[string, string]>): Array<[string, string]> =>
  partitions.length < 2 ? partitions : partitions.slice().sort(byKey);

/**
 * Projection states in the same SQLite file as the events, on a connection of its own (the
 * event store's connection stays private to its adapter). One transaction per commit holds
 * every partition touched and the checkpoints, so states and checkpoints never disagree.
 *
 * `synchronous=NORMAL` here, whatever the event log uses: a commit lost to a power cut rolls
 * back states and checkpoint together and only means re-handling those events; an application
 * crash (SIGKILL) loses nothing in WAL mode either way.
 */
export function openSqliteProjectionState(path: string, options: { busyTimeoutMs?: number } = {}): ProjectionStateStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db: Database = openDatabase({ path, synchronous: 'normal', busyTimeoutMs });
  db.exec(SCHEMA);
  const autocheckpointPages = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  const st = {
    checkpoint: db.prepare<[string], CheckpointRow>('SELECT commit_pos, prepare_pos, source_hash, status, reason FROM projection_checkpoints WHERE name = ?'),
    state: db.prepare<[string, string], string>('SELECT state FROM projection_states WHERE name = ? AND partition = ?').pluck(),
    partitions: db.prepare<[string], string>('SELECT partition FROM projection_states WHERE name = ? ORDER BY partition').pluck(),
    names: db.prepare<[], string>('SELECT name FROM projection_checkpoints ORDER BY name').pluck(),
    upsertCheckpoint: db.prepare(
      `INSERT INTO projection_checkpoints (name, commit_pos, prepare_pos, source_hash, status, reason) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET commit_pos = excluded.commit_pos, prepare_pos = excluded.prepare_pos,
         source_hash = excluded.source_hash, status = excluded.status, reason = excluded.reason`,
    ),
    upsertState: db.prepare(
      `INSERT INTO projection_states (name, partition, state) VALUES (?, ?, ?)
       ON CONFLICT (name, partition) DO UPDATE SET state = excluded.state`,
    ),
    deleteStates: db.prepare('DELETE FROM projection_states WHERE name = ?'),
    deleteCheckpoint: db.prepare('DELETE FROM projection_checkpoints WHERE name = ?'),
  };
  const readCheckpoint = (name: string): StoredCheckpoint | undefined => {
    const row = st.checkpoint.get(name);
    return row && { position: toPosition(row), sourceHash: row.source_hash, status: row.status, reason: row.reason };
  };
  // IMMEDIATE: take the write lock before reading the checkpoints we compare against.
  const commit = db.transaction((commits: ProjectionCommit[]) => {
    for (const c of commits) {
      if (!samePosition(readCheckpoint(c.name)?.position ?? null, c.expected)) throw new CheckpointConflictError(c.name);
      const p = c.checkpoint.position;
      st.upsertCheckpoint.run(c.name, p ? String(p.commit) : null, p ? String(p.prepare) : null, c.checkpoint.sourceHash, c.checkpoint.status, c.checkpoint.reason);
      for (const [partition, json] of inKeyOrder(c.partitions)) st.upsertState.run(c.name, partition, json);
    }
  });
  const reset = db.transaction((name: string) => {
    st.deleteStates.run(name);
    st.deleteCheckpoint.run(name);
  });
  return {
    ...(path === MEMORY_PATH ? {} : { path }),
    readCheckpoint,
    readState: (name, partition) => st.state.get(name, partition),
    listPartitions: (name) => st.partitions.all(name),
    listProjections: () => st.names.all(),
    commit: (commits, o) => {
      if (o?.wait !== false) return waitingForLock(db, () => commit.immediate(commits));
      // A commit that may not wait is one on the event loop (the live projector's). SQLite's
      // busy handler sleeps (1, 2, 5, 10 ms...) while it waits, a stall of every request, so
      // it does not wait at all. Nor does it checkpoint the WAL: live commits follow event
      // writes, and the event store's writer, which commits far more often, has its writer
      // thread checkpoint (about every 1,000 WAL pages). Measured under bench/http's load (7 runs of 4 rounds, 11-15 live
      // commits each): 109-260 ms of commits per run, the longest 28-48 ms, when they did;
      // 82-142 ms, the longest 10-31 ms, with checkpoints left to the writer. Catch-up
      // commits (waiting ones) keep checkpointing: a rebuild writes no events.
      try {
        db.pragma('wal_autocheckpoint = 0');
        withBusyTimeout(db, 0, busyTimeoutMs, () => commit.immediate(commits));
      } catch (err) {
        throw isBusy(err) ? new StateStoreBusyError({ cause: err }) : err;
      } finally {
        db.pragma(`wal_autocheckpoint = ${autocheckpointPages}`);
      }
    },
    reset: (name) => waitingForLock(db, () => reset.immediate(name)),
    close: () => db.close(),
  };
}
