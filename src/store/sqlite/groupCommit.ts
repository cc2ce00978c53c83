import type { Database } from 'better-sqlite3';

/** What one item's work came to: a result for its caller, or the error to answer with. */
export type Outcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

export interface GroupCommitOptions<T, R> {
  /** The item's writes, inside its own SAVEPOINT; throwing rolls back this item only. */
  run(item: T): R;
  /** After this item's savepoint was rolled back: what its caller hears (may still be a success). */
  failed(item: T, err: unknown): Outcome<R>;
  /** When BEGIN or COMMIT fails: the error every caller of the group hears. */
  groupFailed(item: T, err: unknown): unknown;
  /** After a COMMIT in which at least one item succeeded, before anyone is answered. */
  committed?(): void;
}

export interface GroupCommit<T, R> {
  /** Queues the item; settles once the group holding it has committed (or failed). */
  submit(item: T): Promise<R>;
  /** Commits whatever is queued now, synchronously (used before closing). */
  flush(): void;
}

/**
 * Group commit over one connection. Items submitted while the event loop is busy (before the
 * next check phase) are written in one `BEGIN IMMEDIATE … COMMIT`, so one fsync covers them
 * all instead of one each. Every item runs in its own `SAVEPOINT`: a failing item rolls back
 * alone and only its caller hears of it. Nobody is answered before the `COMMIT` returns, so an
 * acknowledged write is exactly as durable as a write committed on its own.
 */
export function createGroupCommit<T, R>(db: Database, options: GroupCommitOptions<T, R>): GroupCommit<T, R> {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const savepoint = db.prepare('SAVEPOINT group_item');
  const release = db.prepare('RELEASE group_item');
  const rollbackTo = db.prepare('ROLLBACK TO group_item');
  let queue: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const outcomes: Outcome<R>[] = [];
    try {
      begin.run();
    } catch (err) {
      for (const p of group) p.reject(options.groupFailed(p.item, err));
      return;
    }
    try {
      for (const p of group) {
        savepoint.run();
        try {
          const result = options.run(p.item);
          release.run();
          outcomes.push({ ok: true, result });
        } catch (err) {
          // A failure SQLite answers by ending the whole transaction leaves nothing to roll back to.
          if (!db.inTransaction) throw err;
          rollbackTo.run();
          release.run();
          outcomes.push(options.failed(p.item, err));
        }
      }
      commit.run();
    } catch (err) {
      try {
        if (db.inTransaction) rollback.run();
      } catch {
        // The connection already rolled back.
      }
      for (const p of group) p.reject(options.groupFailed(p.item, err));
      return;
    }
    if (outcomes.some((o) => o.ok)) options.committed?.();
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.result);
      else p.reject(o.error);
    });
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    flush,
  };
}
