import type { Database } from 'better-sqlite3';
import { groupCommitFor } from '../sqlite/groupCommit.js';
import type { Durability } from '../types.js';

/**
 * The one mutable table of the engine. Events are forever, so a data key written into an event
 * could never be erased; wrapped keys live here instead and destroying one overwrites it.
 * A destroyed row stays as a tombstone (`wrapped` NULL) so "shredded" is told apart from
 * "never existed" and a destroyed id can never be re-created.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS data_keys (
    key_id     TEXT PRIMARY KEY,
    wrapped    TEXT,
    created    INTEGER NOT NULL,
    destroyed  INTEGER
  ) WITHOUT ROWID;`;

/**
 * Creates the table if needed and turns on `secure_delete` for this connection, so that a
 * destroy run on it overwrites the old cell with zeros instead of leaving it in a free page.
 * Every connection that writes the table must call it (the pragma is per connection).
 */
export function ensureDataKeyTable(db: Database): void {
  db.pragma('secure_delete = ON');
  db.exec(SCHEMA);
}

/** Reads of the table, on any connection (wrapped keys as stored JSON text). */
export interface DataKeyReads {
  wrapped(keyId: string): string | undefined;
  isDestroyed(keyId: string): boolean;
}

export function dataKeyReads(db: Database): DataKeyReads {
  const get = db.prepare<[string], { wrapped: string | null; destroyed: number | null }>(
    'SELECT wrapped, destroyed FROM data_keys WHERE key_id = ?',
  );
  return {
    wrapped: (keyId) => get.get(keyId)?.wrapped ?? undefined,
    isDestroyed: (keyId) => get.get(keyId)?.destroyed != null,
  };
}

/** Writes of the table, as jobs of the connection's group commit. */
export interface DataKeyWrites {
  /**
   * First writer wins: a concurrent creator reads the winner's key back (DataKeySealer.seal).
   * `deferred` suits a key whose sealed values are appended later to the same file: their
   * durable commit makes the key durable too (WAL order).
   */
  put(keyId: string, wrapped: string, durability?: Durability): Promise<boolean>;
  /**
   * Overwrites the wrapped key (or leaves a tombstone for an id never stored); resolves with
   * whether a key existed. `scrub`: then checkpoint the WAL with TRUNCATE so the zeroed page
   * reaches the main file and the old frame leaves the WAL.
   */
  destroy(keyId: string, scrub: boolean): Promise<boolean>;
}

/**
 * Puts and destroys join the group commit of the connection: a key created in the same
 * event-loop turn as an event append shares its transaction and fsync, and each caller is
 * answered only after the COMMIT, so a resolved put is as durable as an append.
 */
export function dataKeyWrites(db: Database): DataKeyWrites {
  ensureDataKeyTable(db);
  const st = {
    insert: db.prepare('INSERT INTO data_keys (key_id, wrapped, created) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING'),
    destroy: db.prepare('UPDATE data_keys SET wrapped = NULL, destroyed = ? WHERE key_id = ? AND wrapped IS NOT NULL'),
    tombstone: db.prepare('INSERT INTO data_keys (key_id, wrapped, created, destroyed) VALUES (?, NULL, ?, ?) ON CONFLICT (key_id) DO NOTHING'),
  };
  const group = groupCommitFor(db);
  const failed = (err: unknown) => ({ ok: false as const, error: err ?? new Error('data key write failed') });
  return {
    put: (keyId, wrapped, durability) =>
      group.submit<boolean>({
        run: () => st.insert.run(keyId, wrapped, Date.now()).changes > 0,
        failed,
        groupFailed: (err) => err,
        durable: durability !== 'deferred',
      }),
    async destroy(keyId, scrub) {
      const existed = await group.submit<boolean>({
        run: () => {
          const now = Date.now();
          const changed = st.destroy.run(now, keyId).changes > 0;
          if (!changed) st.tombstone.run(keyId, now, now);
          return changed;
        },
        failed,
        groupFailed: (err) => err,
      });
      if (!scrub) return existed;
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Busy: the key's old frames stay in the WAL file until a later transaction overwrites
        // them once the WAL has started over (the writer thread's checkpoints see to that).
      }
      return existed;
    },
  };
}
