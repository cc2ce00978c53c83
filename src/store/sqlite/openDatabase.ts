import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import { retryWhileBusy } from './busy.js';
import { migrate } from './migrations.js';
import { DEFAULT_BUSY_TIMEOUT_MS, MEMORY_PATH, type SqliteStoreOptions } from './sqliteOptions.js';

const SYNCHRONOUS_CODE = { normal: 1, full: 2 } as const;

/**
 * Switching a fresh file to WAL needs a moment of exclusive access; when several processes open
 * the same new file at once one of them may see SQLITE_BUSY even with a busy timeout.
 */
function enableWal(db: Database, busyTimeoutMs: number): void {
  retryWhileBusy(() => {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new EngineError(ErrorCode.STORE_UNAVAILABLE, `SQLite refused WAL mode (journal_mode is ${quote(mode)})`);
  }, busyTimeoutMs);
}

/**
 * Opens the file with the pragmas the store's guarantees rest on: WAL (readers never block the
 * writer, several processes can share the file), the chosen `synchronous` level, a busy timeout
 * so concurrent writers queue instead of failing, then runs the event log's pending migrations
 * (`eventLog: false` for a file that holds no log: the projection states').
 */
export function openDatabase(options: SqliteStoreOptions, { eventLog = true }: { eventLog?: boolean } = {}): Database {
  const memory = options.path === MEMORY_PATH;
  if (!memory) mkdirSync(dirname(options.path), { recursive: true });
  let db: Database;
  try {
    db = new BetterSqlite3(options.path);
  } catch (err) {
    throw new EngineError(ErrorCode.STORE_UNAVAILABLE, `Cannot open the event store file ${quote(options.path)}`, {
      cause: err,
    });
  }
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (!memory) enableWal(db, busyTimeoutMs);
    // Set explicitly: this better-sqlite3 build defaults WAL to NORMAL (perf-anchors.md).
    db.pragma(`synchronous = ${SYNCHRONOUS_CODE[options.synchronous ?? 'full']}`);
    if (eventLog) migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
