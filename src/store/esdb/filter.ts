import { eventTypeFilter, excludeSystemEvents, streamNameFilter, type Filter, type Position as EsdbPosition } from '@eventstore/db-client';
import type { RecordedEvent, SubscriptionFilter } from '../types.js';

/**
 * Turns the port's filter into one server-side filter (the v1 protocol takes either a stream
 * or an event-type expression, not both) plus an exact client-side predicate for the rest.
 * Stream prefixes win server-side because the engine's subscriptions are per category.
 * A server-side filter is always sent, even for "everything", because only filtered
 * subscriptions get checkpoints, which move the resume position past long runs of
 * unrelated or system events.
 */

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface CompiledFilter {
  server(checkpointReached: (position: EsdbPosition) => void): Filter;
  matches(e: RecordedEvent): boolean;
}

export function compileFilter(filter: SubscriptionFilter = {}): CompiledFilter {
  const prefixes = filter.streamPrefixes ?? [];
  const types = filter.eventTypes ?? [];
  const typePrefixes = filter.eventTypePrefixes ?? [];
  const hasTypeFilter = types.length > 0 || typePrefixes.length > 0;

  const matches = (e: RecordedEvent): boolean =>
    (prefixes.length === 0 || prefixes.some((p) => e.streamId.startsWith(p))) &&
    (!hasTypeFilter || types.includes(e.type) || typePrefixes.some((p) => e.type.startsWith(p)));

  const server = (checkpointReached: (position: EsdbPosition) => void): Filter => {
    const checkpoint = { checkpointInterval: 1, checkpointReached: (_s: unknown, p: EsdbPosition) => checkpointReached(p) };
    if (prefixes.length > 0) return streamNameFilter({ prefixes, ...checkpoint });
    if (hasTypeFilter) {
      const alternatives = [...types.map((t) => `^${escapeRegex(t)}$`), ...typePrefixes.map((p) => `^${escapeRegex(p)}`)];
      return eventTypeFilter({ regex: alternatives.join('|'), ...checkpoint });
    }
    return excludeSystemEvents(checkpoint);
  };

  return { server, matches };
}
