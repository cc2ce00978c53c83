import type { Database } from 'better-sqlite3';

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
}

export interface GroupCommit {
  /** Queues the job; settles once the group holding it has committed (or failed). */
  submit<R>(job: GroupJob<R>): Promise<R>;
  /** Commits whatever is queued now, synchronously (used before closing). */
  flush(): void;
  /** Runs after every COMMIT in which at least one job succeeded, before anyone is answered. */
  onCommitted(listener: () => void): void;
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
  const listeners: Array<() => void> = [];
  let queue: Queued[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const outcomes: Outcome<unknown>[] = [];
    try {
      begin.run();
    } catch (err) {
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
      commit.run();
    } catch (err) {
      try {
        if (db.inTransaction) rollback.run();
      } catch {
        // The connection already rolled back.
      }
      for (const p of group) p.reject(p.job.groupFailed(err));
      return;
    }
    if (outcomes.some((o) => o.ok)) for (const listener of listeners) listener();
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.result);
      else p.reject(o.error);
    });
  };

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
