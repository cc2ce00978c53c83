import { existsSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
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
 * Own tables, created if missing (they are not part of the event log's migrations: dropping
 * them only costs a rebuild). Positions are TEXT because they are bigints on the port.
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
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS projection_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );`;

/** The mark that a state file has looked for legacy states once (see `legacyPath`). */
const LEGACY_MARK = 'legacy_states_copied';

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

export interface SqliteProjectionStateOptions {
  busyTimeoutMs?: number;
  /**
   * A file whose own `projection_*` tables (states kept in the log's file, before they had a
   * file of their own) are copied in the first time this state file is opened: states and
   * checkpoints together, in one transaction, so an upgrade does not rebuild every projection
   * from the whole log. The state file marks that it looked, so a reset or a rebuild never
   * brings the old states back; a state file deleted by hand looks again (an older but
   * consistent snapshot, from which the projector catches up). The copied tables are left
   * where they were.
   */
  legacyPath?: string;
}

/**
 * Projection states in a SQLite file, on a connection of its own (the event store's
 * connection stays private to its adapter). One transaction per commit holds every partition
 * touched and the checkpoints, so states and checkpoints never disagree.
 *
 * `synchronous=NORMAL` here, whatever the event log uses: a commit lost to a power cut rolls
 * back states and checkpoint together and only means re-handling those events; an application
 * crash (SIGKILL) loses nothing in WAL mode either way.
 */
export function openSqliteProjectionState(path: string, options: SqliteProjectionStateOptions = {}): ProjectionStateStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db: Database = openDatabase({ path, synchronous: 'normal', busyTimeoutMs }, { eventLog: false });
  db.exec(SCHEMA);
  if (options.legacyPath !== undefined && path !== MEMORY_PATH) copyLegacyStates(db, options.legacyPath);
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
      // A commit that may not wait is the live projector's, which may run on the event loop:
      // SQLite's busy handler sleeps (1, 2, 5, 10 ms...) while it waits, a stall of every
      // request, so it does not wait at all (another process, or a catch-up worker, may be
      // committing states).
      try {
        withBusyTimeout(db, 0, busyTimeoutMs, () => commit.immediate(commits));
      } catch (err) {
        throw isBusy(err) ? new StateStoreBusyError({ cause: err }) : err;
      }
    },
    reset: (name) => waitingForLock(db, () => reset.immediate(name)),
    close: () => db.close(),
  };
}

/** See {@link SqliteProjectionStateOptions.legacyPath}. */
function copyLegacyStates(db: Database, legacyPath: string): void {
  const marked = db.prepare(`SELECT 1 FROM projection_meta WHERE key = '${LEGACY_MARK}'`);
  const looked = (): boolean => marked.get() !== undefined;
  if (looked()) return;
  const mark = db.prepare(`INSERT OR IGNORE INTO projection_meta (key, value) VALUES ('${LEGACY_MARK}', ?)`);
  // IMMEDIATE, and the mark checked again inside: of several connections opening at once (the
  // server's, the projector thread's), one looks and copies; the others find its mark. Once
  // marked, a reset or a rebuild never brings the old states back.
  const once = (copy: () => number): void => {
    waitingForLock(db, () => db.transaction(() => {
      if (looked()) return;
      mark.run(String(copy()));
    }).immediate());
  };
  if (!existsSync(legacyPath)) return once(() => 0);
  let legacy: Database | undefined;
  try {
    legacy = new BetterSqlite3(legacyPath, { readonly: true, fileMustExist: true });
    const tables = legacy.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('projection_checkpoints', 'projection_states')`).pluck().all();
    if (tables.length < 2) return once(() => 0);
    // One read transaction: the states and checkpoints copied are of one moment.
    legacy.exec('BEGIN');
    const checkpoints = legacy.prepare<[], unknown[]>('SELECT name, commit_pos, prepare_pos, source_hash, status, reason FROM projection_checkpoints').raw().all();
    const states = legacy.prepare<[], unknown[]>('SELECT name, partition, state FROM projection_states').raw();
    const putCheckpoint = db.prepare('INSERT INTO projection_checkpoints (name, commit_pos, prepare_pos, source_hash, status, reason) VALUES (?, ?, ?, ?, ?, ?)');
    const putState = db.prepare('INSERT INTO projection_states (name, partition, state) VALUES (?, ?, ?)');
    once(() => {
      if (db.prepare('SELECT 1 FROM projection_checkpoints LIMIT 1').get() !== undefined) return 0;
      for (const row of checkpoints) putCheckpoint.run(row);
      if (checkpoints.length > 0) for (const row of states.iterate()) putState.run(row);
      return checkpoints.length;
    });
  } catch {
    // Unreadable, an older layout of the tables, or the copy itself failed (a full disk): this
    // file stays empty and the projector rebuilds from the log, as after losing the state
    // file, which is all it holds; slower, never wrong. Marked, so that it is not tried at
    // every start.
    try {
      once(() => 0);
    } catch {
      // Only a closed or locked file refuses the mark: the next start looks again.
    }
  } finally {
    legacy?.close();
  }
}
