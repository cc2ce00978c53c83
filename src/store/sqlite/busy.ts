import type { Database } from 'better-sqlite3';

/** SQLITE_BUSY (any extended code): another connection holds the lock this one needs. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `attempt` again while it fails with SQLITE_BUSY, for at most `timeoutMs` (then the busy
 * error is thrown), sleeping the thread 5 ms between tries. For work that may block its thread.
 */
export function retryWhileBusy<T>(attempt: () => T, timeoutMs: number): T {
  // A monotonic clock: a wall-clock step must neither stretch nor cut the wait.
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err) || performance.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/**
 * Runs `run` with the connection's busy timeout at `ms`, then sets it back to `restoreMs`.
 * Through `exec`: `pragma()` builds a statement object and reads its rows back, ~5 µs a call
 * against ~1 µs, and every group commit on the loop pays two of them.
 */
export function withBusyTimeout<T>(db: Database, ms: number, restoreMs: number, run: () => T): T {
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(ms)}`);
  try {
    return run();
  } finally {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(restoreMs)}`);
  }
}

/** SQLite's own busy wait per attempt while {@link waitingForLock} retries. */
const RETRY_BUSY_TIMEOUT_MS = 20;

/**
 * Runs a write transaction (`attempt`, which begins with `BEGIN IMMEDIATE`) that may wait for
 * the write lock as long as the connection's busy timeout says, even when SQLite's busy handler
 * gives up sooner: the handler counts its sleeps instead of timing them, so signals that cut
 * the sleeps short (a CPU profiler samples its thread with SIGPROF every millisecond or less)
 * used to turn a 10 s timeout into ~130 ms, and a catch-up worker failed its whole share. Free
 * when the lock is free: the busy timeout is read only after a refusal. A connection whose busy
 * timeout is 0 (a commit that must not wait) still gets its refusal at once.
 */
export function waitingForLock<T>(db: Database, attempt: () => T): T {
  const started = performance.now();
  try {
    return attempt();
  } catch (err) {
    // Inside an outer transaction a retry would only nest a savepoint: the caller decides.
    if (!isBusy(err) || db.inTransaction) throw err;
    const timeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    const left = timeoutMs - (performance.now() - started);
    if (timeoutMs <= 0 || left <= 0) throw err;
    // Short waits of SQLite's own between our checks of the deadline: should the signals stop
    // meanwhile, one attempt must not wait a whole busy timeout again past it.
    return withBusyTimeout(db, RETRY_BUSY_TIMEOUT_MS, timeoutMs, () => retryWhileBusy(attempt, left));
  }
}
