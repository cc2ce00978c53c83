import type { Logger } from '../flow/deps.js';
import { openLogWindowReader } from '../store/sqlite/logWindowReader.js';
import type { GroupCandidate } from './catchUpThreads.js';
import { handledTypesOf, type QueryDefinition } from './definition.js';
import type { ProjectionRuntime } from './projectionRuntime.js';

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
  if (!definition?.handlers) return 0;
  const handled = handledTypesOf(definition);
  let events = 0;
  if (handled === undefined) for (const n of typeCounts.values()) events += n;
  else for (const type of handled) events += typeCounts.get(type) ?? 0;
  return events * (READ_US + (definition.partitioning === 'stream' ? STREAM_HANDLER_US : HANDLER_US));
}

/** Positions sampled at the log's end to weigh a catch-up's groups (a type count over them). */
const COST_SAMPLE = 10_000;

/**
 * The projections to catch up, each with its estimated cost over the mix of event types at the
 * end of the log (see `estimateCatchUpCost`) scaled by how far behind it is: a projection with a
 * state per flow stream costs several times one with a single state over the same events, which
 * a count of projections per group does not see. Without a sample (the file cannot be read
 * now) every projection costs the same and the catch-up goes on.
 */
export function withCosts(runtimes: readonly ProjectionRuntime[], eventsPath: string, head: number, logger: Logger): GroupCandidate[] {
  const from = Math.max(0, head - COST_SAMPLE);
  let counts: Map<string, number>;
  try {
    const sampler = openLogWindowReader(eventsPath);
    try {
      counts = sampler.typeCounts(from);
    } finally {
      sampler.close();
    }
  } catch (err) {
    logger.warn({ component: 'projector', err }, 'cannot sample the log to weigh the catch-up; weighing every projection the same');
    return runtimes.map((r) => ({ name: r.name, definition: r.definition }));
  }
  const sampled = Math.max(1, head - from);
  return runtimes.map((r) => {
    const behind = head - Number(r.position?.commit ?? 0n);
    return { name: r.name, definition: r.definition, cost: (estimateCatchUpCost(r.definition, counts) * behind) / sampled };
  });
}
