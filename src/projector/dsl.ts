import type { Context } from 'node:vm';
import { KNOWN_OPTIONS, type GuestFunction, type QueryDefinition, type SourceSelector } from './definition.js';

/** A projection file that does not follow the DSL grammar (reported as the projection's fault). */
export class ProjectionDefinitionError extends Error {
  override name = 'ProjectionDefinitionError';
}

const fail = (message: string): never => {
  throw new ProjectionDefinitionError(message);
};

const isFunction = (v: unknown): v is GuestFunction => typeof v === 'function';

/** `fromStreams('a', 'b')`, `fromStreams(['a', 'b'])`: both forms, as EventStoreDB. */
function names(what: string, args: unknown[]): string[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    fail(`${what} expects one or more non-empty strings`);
  }
  return list as string[];
}

/**
 * Installs the DSL subset into a fresh context: selectors `fromAll`, `fromCategory` /
 * `fromCategories`, `fromStream` / `fromStreams`; `foreachStream`, `partitionBy`, `when`,
 * `transformBy`, `filterBy`, `outputState`; `options`; `log`. The chain methods available at
 * each step follow EventStoreDB's grammar (Jint's `_availableProperties`), so a chain that
 * the server would reject is rejected here too. Emitting (`emit`, `linkTo`, `linkStreamTo`,
 * `copyTo`, `outputTo`) is refused: our projections only keep state (architecture §2.5).
 *
 * Returns a getter for the query the file declared once its top level has run.
 */
export function installDsl(context: Context, log: (message: string) => void): () => QueryDefinition {
  let query: QueryDefinition | undefined;
  const options: Record<string, unknown> = {};

  const begin = (selector: SourceSelector): QueryDefinition => {
    if (query) fail('a projection declares exactly one query (one from...() selector)');
    query = { selector, partitioning: 'none', partitionBy: null, handlers: null, resultSteps: [], options };
    return query;
  };

  const afterWhen = (q: QueryDefinition) => {
    const next = {
      transformBy: (fn: unknown) => {
        if (!isFunction(fn)) fail('transformBy expects a function');
        q.resultSteps.push({ kind: 'transform', fn: fn as GuestFunction });
        return next;
      },
      filterBy: (fn: unknown) => {
        if (!isFunction(fn)) fail('filterBy expects a function');
        q.resultSteps.push({ kind: 'filter', fn: fn as GuestFunction });
        return next;
      },
      outputState: () => next,
      outputTo: () => fail('outputTo is not supported: projections here only keep state'),
    };
    return next;
  };

  const when = (q: QueryDefinition) => (handlers: unknown) => {
    if (handlers === null || typeof handlers !== 'object') fail('when expects an object of handlers');
    const h = handlers as Record<string, unknown>;
    for (const [key, fn] of Object.entries(h)) {
      if (!isFunction(fn)) fail(`handler ${JSON.stringify(key)} is not a function`);
    }
    if ('$initShared' in h) fail('bi-state projections ($initShared) are not supported');
    q.handlers = h as Record<string, GuestFunction>;
    return afterWhen(q);
  };

  const partitioned = (q: QueryDefinition) => ({ when: when(q) });

  const partitionBy = (q: QueryDefinition) => (fn: unknown) => {
    if (!isFunction(fn)) fail('partitionBy expects a function');
    q.partitioning = 'function';
    q.partitionBy = fn as GuestFunction;
    return partitioned(q);
  };

  /** After `fromAll()` / `fromCategory()`: `foreachStream` is allowed. */
  const wide = (q: QueryDefinition) => ({
    when: when(q),
    partitionBy: partitionBy(q),
    foreachStream: () => {
      q.partitioning = 'stream';
      return partitioned(q);
    },
    outputState: () => afterWhen(q),
  });

  /** After `fromStream()` / `fromStreams()`: no `foreachStream`. */
  const narrow = (q: QueryDefinition) => ({ when: when(q), partitionBy: partitionBy(q), outputState: () => afterWhen(q) });

  const fromCategories = (...args: unknown[]) => {
    const categories = names('fromCategory', args);
    const q = begin({ kind: 'categories', categories });
    // Several categories read several `$ce-` streams: EventStoreDB treats that as fromStreams.
    return categories.length === 1 ? wide(q) : narrow(q);
  };

  const refuse = (what: string) => () => fail(`'${what}' is not allowed: projections here only keep state (no emitted streams)`);
  const globals: Record<string, unknown> = {
    fromAll: () => wide(begin({ kind: 'all' })),
    fromCategory: fromCategories,
    fromCategories,
    fromStream: (...args: unknown[]) => {
      if (args.length !== 1) fail('fromStream expects one stream id');
      return narrow(begin({ kind: 'streams', streams: names('fromStream', args) }));
    },
    fromStreams: (...args: unknown[]) => narrow(begin({ kind: 'streams', streams: names('fromStreams', args) })),
    options: (opts: unknown) => {
      if (opts === null || typeof opts !== 'object') fail('options expects an object');
      for (const [key, value] of Object.entries(opts as object)) {
        if (!KNOWN_OPTIONS.has(key)) fail(`Unrecognized option: ${key}`);
        if (key === 'biState' && value === true) fail('bi-state projections are not supported');
        options[key] = value;
      }
    },
    log: (...args: unknown[]) => log(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
    emit: refuse('emit'),
    linkTo: refuse('linkTo'),
    linkStreamTo: refuse('linkStreamTo'),
    copyTo: refuse('copyTo'),
    on_event: () => fail('on_event is not supported; use fromAll().when({...})'),
    on_any: () => fail('on_any is not supported; use fromAll().when({ $any: ... })'),
  };
  for (const [key, value] of Object.entries(globals)) {
    Object.defineProperty(context, key, { value, enumerable: false, writable: false, configurable: false });
  }
  return () => query ?? fail('the projection declares no query (call fromAll(), fromCategory(), fromStream() or fromStreams())');
}
