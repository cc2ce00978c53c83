import { MEMORY_PATH, parseSqliteConnectionString } from '../sqlite/sqliteOptions.js';
import { createMemoryProjectionState } from './memoryProjectionState.js';
import { openSqliteProjectionState } from './sqliteProjectionState.js';
import type { ProjectionStateStore } from './types.js';

/**
 * The projection state store that goes with an `EVENT_STORE` connection string: tables in
 * the same SQLite file for `sqlite:<path>`, memory for `sqlite::memory:` (the events live
 * only in memory too) and for EventStoreDB (which runs the projections itself; an embedded
 * projector over it, e.g. in tests, rebuilds at each start).
 */
export function openProjectionState(connectionString: string): ProjectionStateStore {
  if (!connectionString.startsWith('sqlite:')) return createMemoryProjectionState();
  const options = parseSqliteConnectionString(connectionString);
  if (options.path === MEMORY_PATH) return createMemoryProjectionState();
  return openSqliteProjectionState(options.path, options.busyTimeoutMs ? { busyTimeoutMs: options.busyTimeoutMs } : {});
}
