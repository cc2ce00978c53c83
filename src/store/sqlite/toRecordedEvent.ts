import type { Position, RecordedEvent } from '../types.js';
import { ROW, type EventRow } from './statements.js';

/** SQLite has one position per event, so commit and prepare are the same row id. */
export function toPosition(position: number): Position {
  const p = BigInt(position);
  return { commit: p, prepare: p };
}

/**
 * Stream revisions are small and repeat across every stream, so the common ones are built
 * once: a BigInt is a heap object, and a whole-log read would otherwise allocate one per
 * event just for the revision. Sharing is safe because bigints are immutable values.
 */
const SMALL_REVISIONS: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

/** The revision as a bigint, from the shared table when it is small. */
export function toRevision(revision: number): bigint {
  return revision < SMALL_REVISIONS.length ? SMALL_REVISIONS[revision]! : BigInt(revision);
}

/** Parses on read: rows stay plain strings in SQLite and callers get plain objects. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    streamId: row[ROW.streamId],
    id: row[ROW.eventId],
    revision: toRevision(row[ROW.revision]),
    position: toPosition(row[ROW.position]),
    type: row[ROW.type],
    data: JSON.parse(row[ROW.data]),
    metadata: JSON.parse(row[ROW.metadata]),
    created: new Date(row[ROW.created]),
  };
}
