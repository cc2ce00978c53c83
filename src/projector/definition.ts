/**
 * What a projection file declares through the DSL, once its top level has run: which events
 * it reads, how it partitions them, its handlers. Functions here belong to the projection's
 * own `node:vm` context and are only ever called inside it (see `dispatcher.ts`).
 */

/** `fromAll()`, `fromCategory(...)` / `fromCategories(...)`, `fromStream(...)` / `fromStreams(...)`. */
export type SourceSelector =
  | { kind: 'all' }
  | { kind: 'categories'; categories: string[] }
  | { kind: 'streams'; streams: string[] };

/** `none`: one state; `stream`: `foreachStream()`; `function`: `partitionBy(fn)`. */
export type Partitioning = 'none' | 'stream' | 'function';

/** A function from the projection's context, opaque to the host. */
export type GuestFunction = (...args: unknown[]) => unknown;

export interface QueryDefinition {
  selector: SourceSelector;
  partitioning: Partitioning;
  partitionBy: GuestFunction | null;
  /** The object given to `when()`; null when the query has no `when`. */
  handlers: Record<string, GuestFunction> | null;
  /** `transformBy` / `filterBy` steps, in order: they shape the result, never the state. */
  resultSteps: Array<{ kind: 'transform' | 'filter'; fn: GuestFunction }>;
  options: Record<string, unknown>;
}

/** Options EventStoreDB's `options({...})` accepts; anything else is `Unrecognized option`. */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['resultStreamName', '$includeLinks', 'reorderEvents', 'processingLag', 'biState']);

/** Category of a stream id as EventStoreDB's `$by_category` (default `first` separator `-`). */
export const categoryOf = (streamId: string): string => {
  const i = streamId.indexOf('-');
  return i < 0 ? streamId : streamId.slice(0, i);
};

/** Whether the selector reads this stream (embedded equivalent of `$ce-`/`$all` reads). */
export function selects(selector: SourceSelector, streamId: string): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'categories':
      return selector.categories.includes(categoryOf(streamId));
    case 'streams':
      return selector.streams.includes(streamId);
  }
}

/** The event types a definition's handlers name (`$init` aside); undefined when `$any` takes every type. */
export function handledTypesOf(d: QueryDefinition): string[] | undefined {
  const h = d.handlers ?? {};
  if (Object.hasOwn(h, '$any')) return undefined;
  return Object.keys(h).filter((type) => type !== '$init');
}
