import type { Database } from 'better-sqlite3';
import type { DataKeyStore } from '../../crypto/dataKeys.js';
import type { Envelope } from '../../crypto/envelope.js';
import { groupCommitFor } from '../sqlite/groupCommit.js';
import { openDatabase } from '../sqlite/openDatabase.js';

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
 * A {@link DataKeyStore} in the event store's SQLite file, on a connection of its own.
 *
 * Erasure, honestly: `secure_delete` makes SQLite overwrite the old cell with zeros instead of
 * leaving it in a free page, and a `wal_checkpoint(TRUNCATE)` after each destroy moves the
 * zeroed page into the main file and empties the WAL, so the wrapped key is gone from the live
 * files. Limits: a checkpoint blocked by another process's open read snapshot leaves the old
 * frame in the WAL until the next successful checkpoint, and copies made before the destroy
 * (backups, snapshots of the volume) still hold it; they also need the master key to be of use.
 */
export function openSqliteDataKeyStore(path: string, options: { busyTimeoutMs?: number } = {}): DataKeyStore & { close(): void } {
  const db: Database = openDatabase({ path, ...(options.busyTimeoutMs ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  return dataKeyStoreOn(db, { ownsConnection: true });
}

/**
 * A data-key store on an open connection, typically the event store's own
 * (`SqliteEventStore.connection()`): puts then join the group commit of event appends, so a
 * key created in the same event-loop turn as an append costs no fsync of its own. A borrowed
 * connection is left open by `close`; its owner closes it.
 */
export function dataKeyStoreOn(db: Database, { ownsConnection }: { ownsConnection: boolean }): DataKeyStore & { close(): void } {
  db.pragma('secure_delete = ON');
  db.exec(SCHEMA);
  const st = {
    get: db.prepare<[string], { wrapped: string | null; destroyed: number | null }>('SELECT wrapped, destroyed FROM data_keys WHERE key_id = ?'),
    // First writer wins: a concurrent creator reads the winner's key back (DataKeySealer.seal).
    insert: db.prepare('INSERT INTO data_keys (key_id, wrapped, created) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING'),
    destroy: db.prepare('UPDATE data_keys SET wrapped = NULL, destroyed = ? WHERE key_id = ? AND wrapped IS NOT NULL'),
    tombstone: db.prepare('INSERT INTO data_keys (key_id, wrapped, created, destroyed) VALUES (?, NULL, ?, ?) ON CONFLICT (key_id) DO NOTHING'),
  };
  const destroy = db.transaction((keyId: string, now: number): boolean => {
    const changed = st.destroy.run(now, keyId).changes > 0;
    if (!changed) st.tombstone.run(keyId, now, now);
    return changed;
  });
  // Puts arriving in one event-loop turn share one transaction (one fsync) with everything else
  // written on this connection in that turn; each caller is answered only after the COMMIT, so
  // a resolved put is as durable as before.
  const group = groupCommitFor(db);
  const put = (keyId: string, wrapped: string): Promise<void> =>
    group.submit<void>({
      run: () => void st.insert.run(keyId, wrapped, Date.now()),
      failed: (err) => ({ ok: false, error: err ?? new Error('insert failed') }),
      groupFailed: (err) => err,
    });
  return {
    async get(keyId) {
      const row = st.get.get(keyId);
      return row?.wrapped ? (JSON.parse(row.wrapped) as Envelope) : undefined;
    },
    put(keyId, wrapped) {
      return put(keyId, JSON.stringify(wrapped));
    },
    async destroy(keyId, options) {
      const existed = destroy.immediate(keyId, Date.now());
      if (options?.scrub === false) return existed;
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Busy: the next checkpoint (SQLite runs them automatically) finishes the job.
      }
      return existed;
    },
    async isDestroyed(keyId) {
      return st.get.get(keyId)?.destroyed != null;
    },
    close: () => {
      group.flush();
      if (ownsConnection) db.close();
    },
  };
}
