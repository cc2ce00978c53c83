import { EngineError, ErrorCode, quote } from '../../errors.js';

/**
 * `FULL` (default): every acknowledged append has been fsynced to the WAL and survives power
 * loss. `NORMAL`: the WAL is fsynced only at checkpoints; appends still survive a process
 * crash (SIGKILL) but the last commits can be lost on power loss or an OS crash, in exchange for
 * roughly 7x more single-event appends per second (see perf-anchors.md).
 * https://www.sqlite.org/pragma.html#pragma_synchronous
 */
export type SynchronousMode = 'full' | 'normal';

export interface SqliteStoreOptions {
  /** File path, or `:memory:` for a private in-process database (tests). */
  path: string;
  synchronous?: SynchronousMode;
  /**
   * How often a waiting subscription checks for commits made by other connections (other
   * processes). Local appends wake subscriptions at once; foreign ones within this many ms.
   */
  pollIntervalMs?: number;
  /** How long a write waits for another process's write lock before failing (STORE_UNAVAILABLE). */
  busyTimeoutMs?: number;
  /**
   * Where writes run. `thread` (default for files): on the caller's connection while the disk
   * is fast, contending writers' durable turns on the process's SQLite writer thread while it
   * is slow (see `slowCommitMs`), checkpoints on that thread. `inline`: everything on the
   * caller's thread (always so for `:memory:`, which a second connection cannot see).
   */
  writer?: WriterPlacement;
  /**
   * With `writer=thread`: durable commits on the caller's connection slower than this on
   * average (ms, default 10) mark the disk slow, and writers that contend then have their
   * durable writes committed on the thread. 0: contended durable writes always go to the
   * thread (lone writers and writes needing no fsync still commit on the caller's thread).
   */
  slowCommitMs?: number;
}

export type WriterPlacement = 'thread' | 'inline';

export const DEFAULT_POLL_INTERVAL_MS = 15;
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
export const MEMORY_PATH = ':memory:';

/** An integer option of at least `min` (1: positive, 0: non-negative). */
function intAtLeast(min: 0 | 1, key: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) {
    const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
    throw new EngineError(ErrorCode.CONFIG_INVALID, `EVENT_STORE: ${key} must be ${kind}, got ${quote(raw)}`);
  }
  return n;
}

function oneOf<T extends string>(key: string, raw: string, allowed: readonly T[]): T {
  const value = raw.toLowerCase() as T;
  if (!allowed.includes(value)) {
    const names = allowed.map((a) => `"${a}"`).join(' or ');
    throw new EngineError(ErrorCode.CONFIG_INVALID, `EVENT_STORE: ${key} must be ${names}, got ${quote(raw)}`);
  }
  return value;
}

/**
 * Parses `sqlite:<path>[?synchronous=normal|full&pollIntervalMs=N&busyTimeoutMs=N&writer=thread|inline&slowCommitMs=N]`.
 * `sqlite::memory:` is an in-memory database; `sqlite:///abs/path` is accepted as a URL form.
 */
export function parseSqliteConnectionString(connectionString: string): SqliteStoreOptions {
  if (!connectionString.startsWith('sqlite:')) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, `EVENT_STORE: not a sqlite connection string: ${quote(connectionString)}`);
  }
  let rest = connectionString.slice('sqlite:'.length);
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  rest = q >= 0 ? rest.slice(0, q) : rest;
  if (rest.startsWith('//')) rest = rest.slice(2);
  if (rest === '') {
    throw new EngineError(ErrorCode.CONFIG_INVALID, `EVENT_STORE: missing file path in ${quote(connectionString)}`);
  }
  const options: SqliteStoreOptions = { path: rest };
  for (const [key, value] of new URLSearchParams(query)) {
    switch (key) {
      case 'synchronous':
        options.synchronous = oneOf(key, value, ['full', 'normal'] as const);
        break;
      case 'pollIntervalMs':
        options.pollIntervalMs = intAtLeast(1, key, value);
        break;
      case 'busyTimeoutMs':
        options.busyTimeoutMs = intAtLeast(1, key, value);
        break;
      case 'writer':
        options.writer = oneOf(key, value, ['thread', 'inline'] as const);
        break;
      case 'slowCommitMs':
        options.slowCommitMs = intAtLeast(0, key, value);
        break;
      default:
        throw new EngineError(ErrorCode.CONFIG_INVALID, `EVENT_STORE: unknown sqlite option ${quote(key)}`);
    }
  }
  return options;
}
