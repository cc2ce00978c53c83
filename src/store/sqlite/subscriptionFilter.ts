import { EngineError, ErrorCode } from '../../errors.js';
import type { SubscriptionFilter } from '../types.js';

export type RowPredicate = (streamId: string, type: string) => boolean;

function strings(list: unknown, name: string): string[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Subscription filter ${name} must be an array of strings`);
  }
  return list.length === 0 ? undefined : (list as string[]);
}

/**
 * Compiles a filter into a predicate on the raw row, run before JSON parsing so that skipped
 * events cost almost nothing. Within one kind the entries are alternatives; the stream kind and
 * the type kind must both match when both are given. `eventTypes` and `eventTypePrefixes`
 * together form one type kind.
 */
export function compileFilter(filter: SubscriptionFilter | undefined): RowPredicate | undefined {
  if (filter === undefined) return undefined;
  const streamPrefixes = strings(filter.streamPrefixes, 'streamPrefixes');
  const typeList = strings(filter.eventTypes, 'eventTypes');
  const typePrefixes = strings(filter.eventTypePrefixes, 'eventTypePrefixes');
  if (streamPrefixes === undefined && typeList === undefined && typePrefixes === undefined) return undefined;
  const types = typeList === undefined ? undefined : new Set(typeList);
  const typeKind = types !== undefined || typePrefixes !== undefined;
  return (streamId, type) =>
    (streamPrefixes === undefined || streamPrefixes.some((p) => streamId.startsWith(p))) &&
    (!typeKind || types?.has(type) === true || typePrefixes?.some((p) => type.startsWith(p)) === true);
}
