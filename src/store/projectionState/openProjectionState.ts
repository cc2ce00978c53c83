import { MEMORY_PATH, parseSqliteConnectionString } from '../sqlite/sqliteOptions.js';
import { createMemoryProjectionState } from './memoryProjectionState.js';
import { openSqliteProjectionState } from './sqliteProjectionState.js';
import type { ProjectionStateStore } from './types.js';

/**
 * The projection state store that goes with an `EVENT_STORE` connection string: a SQLite file
 * of its own next to the log for `sqlite:<path>` ({@link projectionStatePath}), memory for
 * `sqlite::memory:` (the events live only in memory too) and for EventStoreDB (which runs the
 * projections itself; an embedded projector over it, e.g. in tests, rebuilds at each start).
 *
 * A file of its own because SQLite locks a whole file for writing: with the states in the
 * log's file, every commit of the projector (up to 10–30 ms for a batch touching hundreds of
 * partitions) refused the event writer's commits in the meantime, and the requests whose
 * writes those were waited for it. States written by an earlier version in the log's file are
 * copied over the first time (see `legacyPath`).
 */
export function openProjectionState(connectionString: string): ProjectionStateStore {
  if (!connectionString.startsWith('sqlite:')) return createMemoryProjectionState();
  const options = parseSqliteConnectionString(connectionString);
  if (options.path === MEMORY_PATH) return createMemoryProjectionState();
  return openSqliteProjectionState(projectionStatePath(options.path), {
    ...(options.busyTimeoutMs ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
    legacyPath: options.path,
  });
}

/**
 * Where the states of a log at `logPath` live: `events.db` → `events.projections.db`, and a
 * log without that extension gets `-projections.db` (`events` → `events-projections.db`), so
 * two logs never share a state file.
 */
export function projectionStatePath(logPath: string): string {
  return logPath.endsWith('.db') ? `${logPath.slice(0, -3)}.projections.db` : `${logPath}-projections.db`;
}
