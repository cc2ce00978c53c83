import type { AllStreamResolvedEvent, ResolvedEvent } from '@eventstore/db-client';
import type { Position, RecordedEvent } from '../types.js';

/**
 * System records (`$`-prefixed types such as `$metadata`, `$>` links, `$ProjectionCheckpoint`,
 * or anything in a `$`-stream such as projection `Result` events) are the server's bookkeeping,
 * never engine events; the SQLite store has none, so the port hides them.
 */
export function isSystemRecord(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

type Resolved = ResolvedEvent | AllStreamResolvedEvent;

/** The client's recorded event, or undefined for links without a target and system records. */
export function toRecordedEvent(resolved: Resolved): RecordedEvent | undefined {
  const e = resolved.event;
  if (!e || isSystemRecord(e.streamId, e.type)) return undefined;
  const position: Position = e.position
    ? { commit: e.position.commit, prepare: e.position.prepare }
    : { commit: -1n, prepare: -1n };
  return {
    streamId: e.streamId,
    id: e.id,
    revision: e.revision,
    position,
    type: e.type,
    data: e.data,
    // The adapter always writes metadata (`{}` by default), as the SQLite store stores it.
    metadata: e.metadata ?? {},
    created: e.created,
  };
}

export function comparePositions(a: Position, b: Position): number {
  return a.commit === b.commit ? Number(a.prepare - b.prepare) : a.commit < b.commit ? -1 : 1;
}
