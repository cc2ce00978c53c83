import vm from 'node:vm';
import type { LogRecord } from './eventLog.js';

/**
 * A minimal host for EventStoreDB's JavaScript projection DSL, run in `node:vm` (V8) in place of
 * the server's Jint interpreter. It covers the subset the engine's `projections/` use:
 * `fromAll`, `fromCategory`/`fromCategories`, `fromStream`/`fromStreams`, `foreachStream`,
 * `partitionBy`, `when` with `$init`, `$any` and named handlers, `transformBy`, `filterBy`,
 * `outputState`, `outputTo`, `options`, `log`, and `emit`/`linkTo` when emit is enabled.
 *
 * Like Jint it disables string compilation (`eval`, `new Function`) and bounds each handler by
 * a time limit (the server's `ProjectionExecutionTimeout`, 250 ms).
 */

type Fn = (...args: unknown[]) => unknown;

export interface ProjectionDefinition {
  source: { kind: 'all' } | { kind: 'categories'; categories: string[] } | { kind: 'streams'; streams: string[] };
  partitioning: { kind: 'none' } | { kind: 'stream' } | { kind: 'by'; fn: Fn };
  handlers: Map<string, Fn>;
  init: Fn | undefined;
  any: Fn | undefined;
  /** `transformBy`/`filterBy` steps that turn a state into a result. */
  resultSteps: Array<{ kind: 'transform' | 'filter'; fn: Fn }>;
  outputState: boolean;
}

export interface EmitSink {
  emit(streamId: string, type: string, body: unknown, metadata: unknown): void;
  linkTo(streamId: string, sequenceNumber: bigint, sourceStream: string, metadata: unknown): void;
}

const KNOWN_OPTIONS = new Set(['resultStreamName', '$includeLinks', 'reorderEvents', 'processingLag', 'biState']);
const HANDLER_TIMEOUT_MS = 250;

export class CompiledProjection {
  readonly definition: ProjectionDefinition;
  private readonly context: vm.Context;
  private readonly invoke = new vm.Script('__fn.apply(null, __args)');

  constructor(query: string, emitEnabled: boolean, sink: EmitSink, logger: (msg: string) => void = () => {}) {
    const def: ProjectionDefinition = {
      source: { kind: 'all' },
      partitioning: { kind: 'none' },
      handlers: new Map(),
      init: undefined,
      any: undefined,
      resultSteps: [],
      outputState: false,
    };
    let selected = false;
    const select = (source: ProjectionDefinition['source']) => {
      if (selected) throw new Error('Only one selector (fromAll, fromCategory, fromStream(s)) is allowed');
      selected = true;
      def.source = source;
      return afterSelector;
    };
    const afterWhen = {
      transformBy(fn: Fn) { def.resultSteps.push({ kind: 'transform', fn }); return afterWhen; },
      filterBy(fn: Fn) { def.resultSteps.push({ kind: 'filter', fn }); return afterWhen; },
      outputState() { def.outputState = true; return afterWhen; },
      outputTo() { def.outputState = true; return {}; },
    };
    const when = (handlers: Record<string, Fn>) => {
      for (const [name, fn] of Object.entries(handlers)) {
        if (typeof fn !== 'function') throw new Error(`Handler ${name} is not a function`);
        if (name === '$init') def.init = fn;
        else if (name === '$any') def.any = fn;
        else if (name === '$initShared' || name === '$deleted' || name === '$created') {
          throw new Error(`${name} is not supported by the test server`);
        } else def.handlers.set(name, fn);
      }
      return afterWhen;
    };
    const afterPartition = { when };
    const afterSelector = {
      when,
      foreachStream() { def.partitioning = { kind: 'stream' }; return afterPartition; },
      partitionBy(fn: Fn) { def.partitioning = { kind: 'by', fn }; return afterPartition; },
      outputState() { def.outputState = true; return afterWhen; },
    };
    const list = (args: unknown[]): string[] => (args.length === 1 && Array.isArray(args[0]) ? args[0] : args).map(String);
    const notAllowed = () => { throw new Error("'emit' is not allowed by the projection/configuration/mode"); };

    const globals = {
      fromAll: () => select({ kind: 'all' }),
      fromCategory: (...c: unknown[]) => select({ kind: 'categories', categories: list(c) }),
      fromCategories: (...c: unknown[]) => select({ kind: 'categories', categories: list(c) }),
      fromStream: (s: unknown) => select({ kind: 'streams', streams: [String(s)] }),
      fromStreams: (...s: unknown[]) => select({ kind: 'streams', streams: list(s) }),
      options: (o: Record<string, unknown>) => {
        for (const k of Object.keys(o)) if (!KNOWN_OPTIONS.has(k)) throw new Error(`Unrecognized option: ${k}`);
      },
      log: (...args: unknown[]) => logger(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
      emit: emitEnabled
        ? (s: string, t: string, body: unknown, meta?: unknown) => sink.emit(String(s), String(t), body, meta)
        : notAllowed,
      linkTo: emitEnabled
        ? (s: string, e: { sequenceNumber: number; streamId: string }, meta?: unknown) =>
            sink.linkTo(String(s), BigInt(e.sequenceNumber), e.streamId, meta)
        : notAllowed,
    };
    this.context = vm.createContext(globals, { codeGeneration: { strings: false, wasm: false } });
    new vm.Script(query, { filename: 'projection.js' }).runInContext(this.context, { timeout: HANDLER_TIMEOUT_MS });
    if (!selected) throw new Error('The projection has no selector (fromAll, fromCategory, fromStream)');
    this.definition = def;
  }

  /** Calls a DSL function inside the sandbox, under the per-event time limit. */
  call(fn: Fn, ...args: unknown[]): unknown {
    this.context.__fn = fn;
    this.context.__args = args;
    try {
      return this.invoke.runInContext(this.context, { timeout: HANDLER_TIMEOUT_MS });
    } finally {
      delete this.context.__fn;
      delete this.context.__args;
    }
  }

  /** Whether the selector reads this record (before handler matching). */
  selects(r: LogRecord): boolean {
    const s = this.definition.source;
    if (s.kind === 'streams') return s.streams.includes(r.streamId);
    // fromAll/fromCategory never see system streams in this host (see the fidelity notes).
    if (r.streamId.startsWith('$')) return false;
    if (s.kind === 'all') return true;
    const dash = r.streamId.indexOf('-');
    return dash > 0 && s.categories.includes(r.streamId.slice(0, dash));
  }
}

/** The handler-side event object, as Jint's `EventEnvelope` presents it (no timestamp, no position). */
export function envelope(r: LogRecord, partition: string): Record<string, unknown> {
  const isJson = r.contentType === 'application/json';
  const bodyRaw = Buffer.from(r.data).toString('utf8');
  const metadataRaw = Buffer.from(r.metadata).toString('utf8');
  const parse = (s: string): unknown => {
    if (!s) return undefined;
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  const body = isJson ? parse(bodyRaw) : undefined;
  const dash = r.streamId.indexOf('-');
  return {
    isJson,
    data: body,
    body,
    bodyRaw,
    metadata: parse(metadataRaw),
    metadataRaw,
    linkMetadata: undefined,
    linkMetadataRaw: '',
    streamId: r.streamId,
    sequenceNumber: Number(r.revision),
    eventType: r.type,
    eventId: r.id,
    partition,
    category: dash > 0 ? r.streamId.slice(0, dash) : undefined,
  };
}
