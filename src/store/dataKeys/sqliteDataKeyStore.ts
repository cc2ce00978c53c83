import type { DataKeyStore } from '../../crypto/dataKeys.js';
import type { Envelope } from '../../crypto/envelope.js';
import { openDatabase } from '../sqlite/openDatabase.js';
import { createInlineWriter, type SqliteWriter } from '../sqlite/sqliteWriter.js';
import type { Database } from 'better-sqlite3';
import type { Durability } from '../types.js';
import { dataKeyReads, ensureDataKeyTable } from './dataKeyTable.js';

/**
 * A {@link DataKeyStore} in a SQLite file, on a connection of its own (a deployment whose events
 * live elsewhere, e.g. EventStoreDB with `DATA_KEY_STORE=sqlite:<path>`).
 *
 * Erasure, honestly: `secure_delete` makes SQLite overwrite the old cell with zeros instead of
 * leaving it in a free page, and a `wal_checkpoint(TRUNCATE)` after each destroy moves the
 * zeroed page into the main file and empties the WAL, so the wrapped key is gone from the live
 * files. Limits: a checkpoint blocked by another process's open read snapshot leaves the old
 * frame in the WAL until the next successful checkpoint, and copies made before the destroy
 * (backups, snapshots of the volume) still hold it; they also need the master key to be of use.
 */
export function openSqliteDataKeyStore(path: string, options: { busyTimeoutMs?: number } = {}): DataKeyStore & { close(): void } {
  const db = openDatabase({ path, ...(options.busyTimeoutMs ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  ensureDataKeyTable(db);
  const writer = createInlineWriter(db, () => {});
  return dataKeyStoreOn(db, writer, { close: () => void writer.close().then(() => db.close()) });
}

/**
 * A data-key store reading on `db` and writing through `writer`, typically the event store's
 * own (`SqliteEventStore.sharedAccess()`): puts then share the group commit of event appends,
 * so a key created in the same event-loop turn as an append costs no fsync of its own.
 * `close` is what closing this store does to what it borrowed (nothing, for the event store's).
 * `puts: 'deferred'` only where every value sealed under a key is appended to the same file
 * afterwards (the event store's own writer): that durable append makes the key durable, and a
 * power cut that drops the key drops everything sealed under it.
 */
export function dataKeyStoreOn(
  db: Database,
  writer: Pick<SqliteWriter, 'putDataKey' | 'destroyDataKey'>,
  { close, puts = 'durable' }: { close: () => void; puts?: Durability },
): DataKeyStore & { close(): void } {
  ensureDataKeyTable(db);
  const reads = dataKeyReads(db);
  return {
    async get(keyId) {
      const wrapped = reads.wrapped(keyId);
      return wrapped ? (JSON.parse(wrapped) as Envelope) : undefined;
    },
    put: (keyId, wrapped) => writer.putDataKey(keyId, JSON.stringify(wrapped), puts),
    destroy: (keyId, options) => writer.destroyDataKey(keyId, options?.scrub !== false),
    async isDestroyed(keyId) {
      return reads.isDestroyed(keyId);
    },
    close,
  };
}
