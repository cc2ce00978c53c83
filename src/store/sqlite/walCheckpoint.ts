import type { Database } from 'better-sqlite3';
import { withBusyTimeout } from './busy.js';

/** WAL frames (4 KiB pages) past which a checkpoint makes the WAL start over (16 MiB). */
export const RESTART_AFTER_FRAMES = 4096;
/** The longest a RESTART waits for writers and readers (those measured took 0.1–18 ms). */
export const RESTART_BUSY_TIMEOUT_MS = 25;
/** After a RESTART that gave up, the next one waits this long, doubling while they give up. */
const RESTART_BACKOFF_MS = 1000;
const RESTART_BACKOFF_MAX_MS = 30_000;

/** What one checkpoint did: `restart` is absent when none was tried. */
export interface CheckpointOutcome {
  /** WAL frames when the PASSIVE checkpoint ran. */
  log: number;
  restart?: 'done' | 'gave up';
}

/**
 * The checkpoints the writer thread runs for one connection. A PASSIVE checkpoint never waits,
 * so the event loop's commits go on meanwhile; but the WAL starts over only when a checkpoint
 * has copied every frame before the next write, and under steady load a commit lands during
 * each one (bench/http's WAL reached 41–43 MB). Past {@link RESTART_AFTER_FRAMES} a RESTART
 * follows: it holds the write lock while it waits for readers to leave the WAL, so it waits at
 * most {@link RESTART_BUSY_TIMEOUT_MS} (a long reader elsewhere, a backup or a shell's open
 * transaction, must not stall every write for the connection's busy timeout), and after one
 * that gave up the next is put off, 1 s doubling to 30 s.
 *
 * @see https://www.sqlite.org/c3ref/wal_checkpoint_v2.html
 */
export function createWalCheckpointer(db: Database, busyTimeoutMs: number, now: () => number = () => performance.now()): () => CheckpointOutcome {
  let restartAt = Number.NEGATIVE_INFINITY;
  let backoffMs = RESTART_BACKOFF_MS;
  return () => {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
    const log = passive?.log ?? 0;
    if (log < RESTART_AFTER_FRAMES || now() < restartAt) return { log };
    // A RESTART that cannot get its locks in time reports busy = 1 (it does not throw).
    const [restart] = withBusyTimeout(db, RESTART_BUSY_TIMEOUT_MS, busyTimeoutMs, () => db.pragma('wal_checkpoint(RESTART)')) as Array<{ busy: number }>;
    if (restart?.busy) {
      restartAt = now() + backoffMs;
      backoffMs = Math.min(backoffMs * 2, RESTART_BACKOFF_MAX_MS);
      return { log, restart: 'gave up' };
    }
    backoffMs = RESTART_BACKOFF_MS;
    return { log, restart: 'done' };
  };
}
