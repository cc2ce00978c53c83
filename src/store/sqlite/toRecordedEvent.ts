import type { Position, RecordedEvent } from '../types.js';
import type { EventRow } from './statements.js';

/** SQLite has one position per event, so commit and prepare are the same row id. */
export function toPosition(position: number): Position {
  const p = BigInt(position);
  return { commit: p, prepare: p };
}

/** Parses on read: rows stay plain strings in SQLite and callers get plain objects. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    streamId: row.stream_id,
    id: row.event_id,
    revision: BigInt(row.revision),
    position: toPosition(row.position),
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    created: new Date(row.created),
  };
}
