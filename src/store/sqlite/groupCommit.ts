import type { Database } from 'better-sqlite3';
import { waitingForLock } from './busy.js';

/** What one job's work came to: a result for its caller, or the error to answer with. */
export type Outcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

/** One caller's writes, as the group runs them. */
export interface GroupJob<R> {
  /** The writes, inside the job's own SAVEPOINT; throwing rolls back this job only. */
  run(): R;
  /** After this job's savepoint was rolled back: what its caller hears (may still be a success). */
  failed(err: unknown): Outcome<R>;
  /** When BEGIN or COMMIT fails: the error this job's caller hears. */
  groupFailed(err: unknown): unknown;
  /**
   * `false`: the caller may be answered before the commit is fsynced (`deferred` durability,
   * see `Durability` in ../types.ts). A group is fsynced when any of its jobs is durable.
   */
  durable?: boolean;
}

/** What a commit was: fsynced, or deferred to the next durable commit. */
export interface CommitInfo {
  durable: boolean;
  /** How long the COMMIT statement took (ms): writing the WAL frames, and the fsync when durable. */
  commitMs: number;
  /** The jobs the transaction held (its WAL frames grow with them). */
  jobs: number;
}

export interface GroupCommit {
  /** Queues the job; settles once the group holding it has committed (or failed). */
  submit<R>(job: GroupJob<R>): Promise<R>;
  /** Commits whatever is queued now, synchronously (used before closing). */
  flush(): void;
  /** Runs after every COMMIT in which at least one job succeeded, before anyone is answered. */
  onCommitted(listener: (commit: CommitInfo) => void): void;
}

const byConnection = new WeakMap<Database, GroupCommit>();

/**
 * The group commit of a connection: one per connection, shared by every writer on it (event
 * appends, data-key puts), so writes of different kinds made in one event-loop turn share a
 * transaction and a single fsync.
 */
export function groupCommitFor(db: Database): GroupCommit {
  let group = byConnection.get(db);
  if (!group) {
    group = createGroupCommit(db);
    byConnection.set(db, group);
  }
  return group;
}

interface Queued {
  job: GroupJob<unknown>;
  resolve: (r: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit over one connection. Jobs submitted while the event loop is busy (before the
 * next check phase) are written in one `BEGIN IMMEDIATE … COMMIT`, so one fsync covers them
 * all instead of one each. Every job runs in its own `SAVEPOINT`: a failing job rolls back
 * alone and only its caller hears of it. Nobody is answered before the `COMMIT` returns, so an
 * acknowledged write is exactly as durable as a write committed on its own.
 */
function createGroupCommit(db: Database): GroupCommit {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const savepoint = db.prepare('SAVEPOINT group_item');
  const release = db.prepare('RELEASE group_item');
  const rollbackTo = db.prepare('ROLLBACK TO group_item');
  // Only a FULL connection has an fsync per commit to defer; NORMAL never fsyncs at commit.
  // `PRAGMA synchronous` takes effect when compiled, so it is never prepared ahead of use:
  // preparing the FULL statement would switch a NORMAL connection to FULL.
  const full = db.pragma('synchronous', { simple: true }) === 2;
  const syncNormal = { run: () => db.exec('PRAGMA synchronous = NORMAL') };
  const syncFull = { run: () => db.exec('PRAGMA synchronous = FULL') };
  const listeners: Array<(commit: CommitInfo) => void> = [];
  let queue: Queued[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const outcomes: Outcome<unknown>[] = [];
    let commitMs = 0;
    const defer = full && group.every((p) => p.job.durable === false);
    try {
      // Set outside the transaction; the level applies to this COMMIT only (restored below).
      if (defer) syncNormal.run();
      waitingForLock(db, () => begin.run());
    } catch (err) {
      restore(defer);
      for (const p of group) p.reject(p.job.groupFailed(err));
      return;
    }
    try {
      for (const p of group) {
        savepoint.run();
        try {
          const result = p.job.run();
          release.run();
          outcomes.push({ ok: true, result });
        } catch (err) {
          // A failure SQLite answers by ending the whole transaction leaves nothing to roll back to.
          if (!db.inTransaction) throw err;
          rollbackTo.run();
          release.run();
          outcomes.push(p.job.failed(err));
        }
      }
      const t0 = performance.now();
      commit.run();
      commitMs = performance.now() - t0;
    } catch (err) {
      try {
        if (db.inTransaction) rollback.run();
      } catch {
        // The connection already rolled back.
      }
      restore(defer);
      for (const p of group) p.reject(p.job.groupFailed(err));
      return;
    }
    restore(defer);
    const info: CommitInfo = { durable: !defer && full, commitMs, jobs: group.length };
    if (outcomes.some((o) => o.ok)) for (const listener of listeners) listener(info);
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.result);
      else p.reject(o.error);
    });
  };

  function restore(deferred: boolean): void {
    if (!deferred) return;
    try {
      syncFull.run();
    } catch {
      // Only a closed connection refuses it here (an open iterator would too, but this
      // connection reads with all() and get() only); nothing commits on it any more.
    }
  }

  return {
    submit<R>(job: GroupJob<R>) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ job: job as GroupJob<unknown>, resolve: resolve as (r: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    flush,
    onCommitted: (listener) => void listeners.push(listener),
  };
}
