import type { QueryDefinition } from './definition.js';

/**
 * Per event a projection sees during a catch-up, in microseconds of one thread, as measured by
 * `bench/projections` on the 2-core VM (1M events): reading and decoding the row ~3.7, a handler
 * on a single state ~1.5, a handler on a state per stream (`foreachStream`: one partition per
 * stream, kept, serialised and written) ~9. Only the ratios matter: they rank the groups.
 */
const READ_US = 3.7;
const HANDLER_US = 1.5;
const STREAM_HANDLER_US = 9;

/**
 * The estimated work of catching `definition` up over a log whose event types occur as in
 * `typeCounts` (a sample of the log): the events it handles, each read and handled. A projection
 * with `$any` handles every event; an unreadable definition costs nothing (it faults at once).
 */
export function estimateCatchUpCost(definition: QueryDefinition | undefined, typeCounts: ReadonlyMap<string, number>): number {
  const handlers = definition?.handlers;
  if (!handlers) return 0;
  let events = 0;
  if (Object.prototype.hasOwnProperty.call(handlers, '$any')) {
    for (const n of typeCounts.values()) events += n;
  } else {
    for (const type of Object.keys(handlers)) if (type !== '$init') events += typeCounts.get(type) ?? 0;
  }
  return events * (READ_US + (definition.partitioning === 'stream' ? STREAM_HANDLER_US : HANDLER_US));
}
