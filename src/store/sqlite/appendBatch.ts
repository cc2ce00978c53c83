import type { Database } from 'better-sqlite3';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import { WrongExpectedVersionError } from '../errors.js';
import type { AppendResult, ExpectedRevision } from '../types.js';
import type { PreparedEvent } from './prepareBatch.js';
import type { Statements } from './statements.js';
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
  st: Statements,
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

export type AppendFn = (streamId: string, batch: PreparedEvent[], expected: ExpectedRevision) => AppendResult;

/**
 * Builds the append: one `BEGIN IMMEDIATE` transaction (takes the write lock first, so the head
 * read inside is the truth across processes), one indexed head lookup, one INSERT per event.
 * `UNIQUE(stream_id, revision)` backs the revision check; `UNIQUE(event_id)` detects retries,
 * which are resolved after the rollback by {@link idempotentResult}.
 */
export function createAppend(db: Database, st: Statements): AppendFn {
  const write = db.transaction((streamId: string, batch: PreparedEvent[], expected: ExpectedRevision) => {
    const head = st.streamHead.get(streamId);
    if (!accepts(expected, head)) throw new RevisionMismatch(head);
    let revision = head === undefined ? 0 : head + 1;
    const created = Date.now();
    let position: number | bigint = 0;
    for (const e of batch) {
      position = st.insert.run(streamId, revision++, e.id, e.type, e.data, e.metadata, created).lastInsertRowid;
    }
    return { nextExpectedRevision: BigInt(revision - 1), position: toPosition(Number(position)) };
  });

  return (streamId, batch, expected) => {
    try {
      return write.immediate(streamId, batch, expected);
    } catch (err) {
      if (err instanceof RevisionMismatch) {
        const retried = idempotentResult(st, streamId, batch, expected);
        if (retried !== undefined) return retried;
        throw new WrongExpectedVersionError(
          streamId,
          expected,
          err.head === undefined ? 'no_stream' : BigInt(err.head),
        );
      }
      if (isUniqueViolation(err)) {
        const retried = idempotentResult(st, streamId, batch, expected);
        if (retried !== undefined) return retried;
      }
      throw new EngineError(ErrorCode.STORE_UNAVAILABLE, `Append to ${quote(streamId)} failed in SQLite`, {
        cause: err,
      });
    }
  };
}
