import type { Database } from 'better-sqlite3';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import { WrongExpectedVersionError } from '../errors.js';
import type { AppendResult, Durability, ExpectedRevision } from '../types.js';
import type { AppendPart, PreparedEvent } from './prepareBatch.js';
import type { Statements } from './statements.js';
import { groupCommitFor, type GroupJob, type Outcome } from './groupCommit.js';
import { toPosition } from './toRecordedEvent.js';

/** Thrown inside the transaction to roll it back; handled right outside. */
class RevisionMismatch {
  constructor(readonly head: number | undefined) {}
}

function accepts(expected: ExpectedRevision, head: number | undefined): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return head === undefined;
    case 'stream_exists':
      return head !== undefined;
    default:
      return head !== undefined && BigInt(head) === expected;
  }
}

/** Would `expected` have put the batch's first event at `firstRevision`? */
function sameSlot(expected: ExpectedRevision, firstRevision: number): boolean {
  if (expected === 'any' || expected === 'stream_exists') return true;
  if (expected === 'no_stream') return firstRevision === 0;
  return BigInt(firstRevision) === expected + 1n;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function duplicateId(id: string, streamId: string): EngineError {
  return new EngineError(
    ErrorCode.DUPLICATE_EVENT_ID,
    `Event id ${quote(id)} is already stored elsewhere than this append to ${quote(streamId)} would put it`,
    { details: { eventId: id, stream: streamId } },
  );
}

/**
 * EventStoreDB's idempotency: a batch whose ids are already stored, in order, at the place this
 * append would have put them, is a retry of a write that succeeded; answer with the original
 * result and write nothing. Any other reuse of an id is an error, never a silent double write.
 * Events are never deleted, so this read needs no lock.
 */
function idempotentResult(
  st: Pick<Statements, 'eventById'>,
  streamId: string,
  batch: PreparedEvent[],
  expected: ExpectedRevision,
): AppendResult | undefined {
  const first = st.eventById.get(batch[0]!.id);
  if (first === undefined) {
    const stored = batch.find((e) => st.eventById.get(e.id) !== undefined);
    if (stored !== undefined) throw duplicateId(stored.id, streamId);
    return undefined;
  }
  if (first.stream_id !== streamId || !sameSlot(expected, first.revision)) throw duplicateId(batch[0]!.id, streamId);
  let last = first;
  for (let i = 1; i < batch.length; i++) {
    const row = st.eventById.get(batch[i]!.id);
    if (row === undefined || row.stream_id !== streamId || row.revision !== first.revision + i) {
      throw duplicateId(batch[i]!.id, streamId);
    }
    last = row;
  }
  return { nextExpectedRevision: BigInt(last.revision), position: toPosition(last.position) };
}

/** Which part of a multi-stream append failed, and why (its savepoint is already rolled back). */
class PartFailed {
  constructor(readonly index: number, readonly cause: unknown) {}
}

export interface GroupAppender {
  /**
   * Queues the parts as one item of the next group (all or nothing, in order); settles once
   * the group holding it has committed (or failed).
   */
  append(parts: AppendPart[], durability?: Durability): Promise<AppendResult[]>;
  /** Commits whatever is queued now, synchronously (used before closing). */
  flush(): void;
}

const unavailable = (streamId: string, cause: unknown): EngineError =>
  new EngineError(ErrorCode.STORE_UNAVAILABLE, `Append to ${quote(streamId)} failed in SQLite`, { cause });

/**
 * Group commit. Appends that arrive while the event loop is busy (before the next check phase)
 * are written in one `BEGIN IMMEDIATE … COMMIT`, so one fsync covers them all instead of one
 * each. Every caller's append (one stream, or several for `appendToStreams`) runs in its own
 * `SAVEPOINT`: a revision conflict, an id clash or a failing insert rolls back that append
 * only (every part of it) and is reported only to its caller. Nobody is answered before the
 * `COMMIT` returns, so an acknowledged append is as durable as before; if the `COMMIT` (or the
 * `BEGIN`) fails, every append of the group fails with `store_unavailable`.
 *
 * Inside the transaction: one indexed head lookup per part, one INSERT per event (`BEGIN
 * IMMEDIATE` takes the write lock first, so the head read is the truth across processes).
 * `UNIQUE(stream_id, revision)` backs the revision check; `UNIQUE(event_id)` detects retries,
 * resolved after the savepoint's rollback by {@link idempotentResult}, which sees the appends
 * written earlier in the same group, exactly as it would have had they committed one by one.
 */
export function createGroupAppender(
  db: Database,
  st: Pick<Statements, 'streamHead' | 'insert' | 'eventById'>,
  onCommitted: () => void,
): GroupAppender {
  const writeOne = ({ streamId, batch, expected }: AppendPart): AppendResult => {
    const head = st.streamHead.get(streamId);
    if (!accepts(expected, head)) throw new RevisionMismatch(head);
    let revision = head === undefined ? 0 : head + 1;
    const created = Date.now();
    let position: number | bigint = 0;
    for (const e of batch) {
      position = st.insert.run(streamId, revision++, e.id, e.type, e.data, e.metadata, created).lastInsertRowid;
    }
    return { nextExpectedRevision: BigInt(revision - 1), position: toPosition(Number(position)) };
  };

  const writeAll = (parts: AppendPart[]): AppendResult[] => {
    const results: AppendResult[] = [];
    for (let i = 0; i < parts.length; i++) {
      try {
        results.push(writeOne(parts[i]!));
      } catch (err) {
        // SQLite ending the whole transaction is every item's failure, not this part's.
        if (!db.inTransaction) throw err;
        throw new PartFailed(i, err);
      }
    }
    return results;
  };

  /**
   * What a rolled-back append tells its caller: a retry's original results when every part is
   * already stored where it would have gone, otherwise the failing part's error.
   */
  const settleFailed = (parts: AppendPart[], failure: unknown): Outcome<AppendResult[]> => {
    const index = failure instanceof PartFailed ? failure.index : 0;
    const err = failure instanceof PartFailed ? failure.cause : failure;
    const part = parts[index]!;
    try {
      if (err instanceof RevisionMismatch || isUniqueViolation(err)) {
        const retried = parts.map((p) => idempotentResult(st, p.streamId, p.batch, p.expected));
        if (retried.every((r) => r !== undefined)) return { ok: true, result: retried as AppendResult[] };
      }
      if (err instanceof RevisionMismatch) {
        return {
          ok: false,
          error: new WrongExpectedVersionError(part.streamId, part.expected, err.head === undefined ? 'no_stream' : BigInt(err.head)),
        };
      }
    } catch (resolved) {
      return { ok: false, error: resolved };
    }
    return { ok: false, error: unavailable(part.streamId, err) };
  };

  /**
   * One caller's append as a group job. A class, not an object of three arrow functions: an
   * append allocated ~1.3 KB of closures (under tsx, each also named by a property write),
   * several appends a flow.
   */
  class AppendJob implements GroupJob<AppendResult[]> {
    constructor(readonly parts: AppendPart[], readonly durable: boolean) {}
    run(): AppendResult[] {
      return writeAll(this.parts);
    }
    failed(err: unknown): Outcome<AppendResult[]> {
      return settleFailed(this.parts, err);
    }
    groupFailed(err: unknown): unknown {
      return unavailable(this.parts[0]!.streamId, err);
    }
  }

  const group = groupCommitFor(db);
  group.onCommitted(onCommitted);

  return {
    append: (parts, durability) => group.submit(new AppendJob(parts, durability !== 'deferred')),
    flush: group.flush,
  };
}
