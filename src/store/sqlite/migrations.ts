import type { Database } from 'better-sqlite3';
import { EngineError, ErrorCode } from '../../errors.js';
import { waitingForLock } from './busy.js';

/**
 * One schema step. The schema version is SQLite's `PRAGMA user_version` (in the file header,
 * changed in the same transaction as the step), so a crash mid-migration leaves the old version.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Append-only: never edit a released step, add a new one. `AUTOINCREMENT` keeps positions from
 * ever being reused (SQLite would otherwise reuse the largest rowid after a delete), and
 * `UNIQUE(stream_id, revision)` is the optimistic-concurrency check: two writers can never both
 * take the same revision, whatever process they run in.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'the event log',
    sql: `
      CREATE TABLE events (
        position  INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id TEXT    NOT NULL,
        revision  INTEGER NOT NULL,
        event_id  TEXT    NOT NULL,
        type      TEXT    NOT NULL,
        data      TEXT    NOT NULL,
        metadata  TEXT    NOT NULL,
        created   INTEGER NOT NULL,
        UNIQUE (stream_id, revision)
      );`,
  },
  {
    version: 2,
    description: 'globally unique event ids (idempotent re-append)',
    sql: `CREATE UNIQUE INDEX events_event_id ON events (event_id);`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the file up to `target` under a write lock (`BEGIN IMMEDIATE`), re-reading the version
 * inside it, so several processes opening an old file at once migrate it exactly once.
 * A file written by a newer engine is refused rather than misread.
 */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  if (schemaVersion(db) === target) return target;
  const run = db.transaction(() => {
    const current = schemaVersion(db);
    if (current > SCHEMA_VERSION) {
      throw new EngineError(
        ErrorCode.FUTURE_SCHEMA_VERSION,
        `The event store file has schema version ${current}; this engine knows up to ${SCHEMA_VERSION}`,
        { details: { fileVersion: current, knownVersion: SCHEMA_VERSION } },
      );
    }
    for (const step of MIGRATIONS) {
      if (step.version > current && step.version <= target) {
        db.exec(step.sql);
        db.pragma(`user_version = ${step.version}`);
      }
    }
    return schemaVersion(db);
  });
  return waitingForLock(db, () => run.immediate());
}
