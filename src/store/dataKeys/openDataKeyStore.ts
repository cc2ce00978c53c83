import { createMemoryDataKeyStore, type DataKeyStore } from '../../crypto/dataKeys.js';
import { EngineError, ErrorCode } from '../../errors.js';
import { MEMORY_PATH, parseSqliteConnectionString } from '../sqlite/sqliteOptions.js';
import { SqliteEventStore } from '../sqlite/sqliteEventStore.js';
import type { EventStore } from '../types.js';
import { dataKeyStoreOn, openSqliteDataKeyStore } from './sqliteDataKeyStore.js';

export type ClosableDataKeyStore = DataKeyStore & { close(): void };

/**
 * The data-key store that goes with a connection string: a `data_keys` table in the same file
 * for `sqlite:<path>` (shared by every process on that file), memory for `sqlite::memory:`
 * (the events live only in memory too). Given the embedded event store of that same file, it
 * uses that store's connection (one group commit, one fsync for keys and events).
 *
 * EventStoreDB has no erasable storage short of deleting a stream and waiting for a scavenge,
 * so an ESDB deployment names a separate key store (`DATA_KEY_STORE=sqlite:<path>` on a volume
 * all replicas share); refusing here is better than keeping keys where they cannot be erased.
 */
export function openDataKeyStore(connectionString: string, options: { eventStore?: EventStore } = {}): ClosableDataKeyStore {
  if (!connectionString.startsWith('sqlite:')) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, 'DATA_KEY_STORE: only sqlite:<path> (or sqlite::memory:) can hold erasable data keys', {
      details: { key: 'DATA_KEY_STORE' },
    });
  }
  const sqlite = parseSqliteConnectionString(connectionString);
  if (sqlite.path === MEMORY_PATH) return { ...createMemoryDataKeyStore(), close() {} };
  // The event store's own file: share its connection, so key puts commit with the events.
  const events = options.eventStore;
  if (events instanceof SqliteEventStore && events.path === sqlite.path) {
    const { db, writer } = events.sharedAccess();
    // Keys are put before the events sealed under them, on the same WAL: their fsync covers both.
    return dataKeyStoreOn(db, writer, { close: () => {}, puts: 'deferred' });
  }
  return openSqliteDataKeyStore(sqlite.path, sqlite.busyTimeoutMs ? { busyTimeoutMs: sqlite.busyTimeoutMs } : {});
}
