import { Script, type Context } from 'node:vm';
import type { QueryDefinition } from './definition.js';

/**
 * The part of the projection host that runs inside the projection's `node:vm` context. The
 * loop over a batch runs there, called by the slice driver (`sliceDriver.ts`) under one
 * `runInContext({ timeout })` per slice for every projection, because a vm time limit only
 * covers script runs, not calls from the host into guest functions; one watchdog per slice
 * instead of per event (and per projection) keeps the limit almost free.
 *
 * The guest side keeps the partition states it has seen (a cache over the state store) and
 * records which changed since the last commit. It captures `JSON`, `Map` and `Object` before
 * the file could replace them.
 */
const GUEST_SOURCE = `(function (def, now, load) {
  'use strict';
  var parse = JSON.parse, stringify = JSON.stringify, hasOwn = Object.prototype.hasOwnProperty;
  var Cache = Map;
  var handlers = def.handlers || {};
  var init = hasOwn.call(handlers, '$init') ? handlers.$init : null;
  var any = hasOwn.call(handlers, '$any') ? handlers.$any : null;
  var mode = def.partitioning, partitionBy = def.partitionBy, steps = def.resultSteps;
  var cache = new Cache(), touched = new Cache();

  function Envelope(r) {
    var id = r.streamId, dash = id.indexOf('-');
    this.isJson = true;
    this.data = r.data;
    this.body = r.data;
    this.metadata = r.metadata;
    this.linkMetadata = null;
    this.streamId = id;
    this.sequenceNumber = Number(r.revision);
    this.eventType = r.type;
    this.eventId = r.id;
    this.category = dash < 0 ? id : id.substring(0, dash);
    this.partition = '';
  }
  Object.defineProperty(Envelope.prototype, 'bodyRaw', { get: function () { return stringify(this.data); } });
  Object.defineProperty(Envelope.prototype, 'metadataRaw', { get: function () { return stringify(this.metadata); } });

  /* Cached states are never undefined (a handler returning undefined keeps the state), so one
     lookup tells a miss. */
  function stateOf(key) {
    var s = cache.get(key);
    if (s !== undefined) return s;
    var raw = load(key);
    if (raw !== undefined) s = parse(raw);
    else {
      s = init ? init() : {};
      if (s === undefined) s = {};
    }
    cache.set(key, s);
    return s;
  }

  var job = { events: null, index: 0, limit: 250, slowIndex: -1, slowMs: 0 };

  /* Handles job.events from job.index until done, or until the slice (begun at sliceStart,
     shared with the other projections of the slice) used up the time limit ('yield': the host
     starts a new slice with a fresh watchdog), or an event alone took
     longer than the limit ('slow': the host faults the projection). */
  function run(sliceStart) {
    var events = job.events, n = events.length, limit = job.limit;
    var start = sliceStart, t0 = now(), i = job.index;
    for (; i < n; i++) {
      job.index = i;
      var r = events[i];
      var h = hasOwn.call(handlers, r.type) ? handlers[r.type] : any;
      if (!h) continue;
      var e = new Envelope(r), key = '';
      if (mode === 'stream') key = r.streamId;
      else if (mode === 'function') {
        key = partitionBy(e);
        if (key === null || key === undefined) continue;
        key = String(key);
      }
      e.partition = key;
      var s = stateOf(key);
      var out = h(s, e);
      if (out !== undefined && out !== s) cache.set(key, out);
      touched.set(key, true);
      var t1 = now();
      if (t1 - t0 > limit) {
        job.slowIndex = i;
        job.slowMs = t1 - t0;
        job.index = i + 1;
        return 'slow';
      }
      if (t1 - start > limit) {
        job.index = i + 1;
        return 'yield';
      }
      t0 = t1;
    }
    job.index = n;
    return 'done';
  }

  /* Changed partitions as [key, json] pairs; they stay marked until the host confirms the commit. */
  function changes() {
    var out = [];
    touched.forEach(function (_, key) { out.push([key, stringify(cache.get(key))]); });
    return out;
  }

  function peek(key) {
    if (cache.has(key)) return { found: true, json: stringify(cache.get(key)) };
    return { found: false, json: undefined };
  }

  var resultJob = { input: undefined, output: undefined };
  /* transformBy/filterBy over a state copy (never the live state): the result of the query. */
  function result() {
    var v = resultJob.input === undefined ? undefined : parse(resultJob.input);
    for (var i = 0; i < steps.length; i++) {
      if (v === null) break;
      if (steps[i].kind === 'transform') v = steps[i].fn(v);
      else v = steps[i].fn(v) === true ? v : null;
    }
    resultJob.output = v === undefined ? undefined : stringify(v);
  }

  return {
    job: job,
    run: run,
    changes: changes,
    committed: function () { touched.clear(); },
    peek: peek,
    size: function () { return cache.size; },
    evict: function (keep) {
      if (touched.size !== 0) return;
      /* Oldest first (Map order is insertion order): a flow's events come close together. */
      var keys = cache.keys();
      while (cache.size > keep) cache.delete(keys.next().value);
    },
    drop: function () { cache.clear(); touched.clear(); },
    resultJob: resultJob,
    result: result
  };
})`;

/** The guest dispatcher as the host sees it. */
export interface Dispatcher {
  /**
   * The guest loop over `job.events`. Only ever called inside a script run with a time limit
   * (the slice driver): called directly from the host, no watchdog would stop it.
   */
  run(sliceStart: number): SliceOutcome;
  job: { events: unknown[] | null; index: number; limit: number; slowIndex: number; slowMs: number };
  changes(): Array<[string, string]>;
  committed(): void;
  peek(key: string): { found: boolean; json: string | undefined };
  size(): number;
  /** Drops the oldest cached states (all persisted) down to `keep`; they reload from the store on demand. */
  evict(keep: number): void;
  /** Forgets every cached and changed state (another process's commit is the truth now). */
  drop(): void;
  resultJob: { input: string | undefined; output: string | undefined };
}

export type SliceOutcome = 'done' | 'yield' | 'slow';

const DISPATCHER_KEY = '__projectorDispatcher';

/**
 * Creates the guest dispatcher in `context` and returns it with a runner for results (a script
 * run, so the vm time limit applies). Slices run through the slice driver.
 */
export function createDispatcher(
  context: Context,
  definition: QueryDefinition,
  load: (key: string) => string | undefined,
): { dispatcher: Dispatcher; runResult(timeoutMs: number): void } {
  const factory = new Script(GUEST_SOURCE, { filename: 'projector-dispatcher.js' }).runInContext(context) as (
    def: QueryDefinition,
    now: () => number,
    load: (key: string) => string | undefined,
  ) => Dispatcher;
  const dispatcher = factory(definition, performance.now.bind(performance), load);
  Object.defineProperty(context, DISPATCHER_KEY, { value: dispatcher, enumerable: false, writable: false, configurable: false });
  const result = new Script(`${DISPATCHER_KEY}.result()`, { filename: 'projector-result.js' });
  return {
    dispatcher,
    runResult: (timeoutMs) => void result.runInContext(context, { timeout: timeoutMs }),
  };
}
