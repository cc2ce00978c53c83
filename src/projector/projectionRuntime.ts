import { createHash } from 'node:crypto';
import { createContext, Script } from 'node:vm';
import type { ProjectionCommit, ProjectionRunStatus, ProjectionStateStore } from '../store/projectionState/types.js';
import type { Position, RecordedEvent } from '../store/types.js';
import { selects, type QueryDefinition } from './definition.js';
import { categoriesOf, compileEventFilter, type EventFilter } from './eventFilter.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { installDsl } from './dsl.js';
import type { SliceJob } from './sliceDriver.js';

/** A projection file: its name (file name without `.js`) and source. */
export interface ProjectionSource {
  name: string;
  source: string;
}

export interface RuntimeOptions {
  /** Per-event time limit (EventStoreDB's `ProjectionExecutionTimeout`, default 250 ms). */
  eventTimeoutMs: number;
  /** Cached partition states above which persisted ones are dropped from memory. */
  maxCachedPartitions: number;
  log: (message: string) => void;
}

export const sourceHash = (source: string): string => createHash('sha256').update(source).digest('hex').slice(0, 32);

/**
 * Globals the file could use to break determinism. A handler that reads a clock or a random
 * number gives a different state at each rebuild (and on EventStoreDB than here).
 */
const PRELUDE = `(function () {
  var refuse = function (what) { return function () { throw new Error(what + ' is not available in projections: read time from event metadata'); }; };
  Date.now = refuse('Date.now');
  Math.random = refuse('Math.random');
})();`;

/** Stored partition keys tracked per cached partition allowed, at most (see `#storedKeys`). */
const MAX_TRACKED_PER_CACHED = 2;

/** Positions compare by commit then prepare, as `$all` positions. */
export const positionAfter = (a: Position, b: Position | null): boolean =>
  b === null || a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);

/** The lowest position among the running runtimes: null when one has applied nothing yet, undefined when none runs. */
export function lowestPosition(runtimes: Iterable<ProjectionRuntime>): Position | null | undefined {
  let low: Position | null | undefined;
  for (const r of runtimes) {
    if (r.status !== 'running') continue;
    if (r.position === null) return null;
    if (low === undefined || (low !== null && positionAfter(low, r.position))) low = r.position;
  }
  return low;
}

/**
 * One projection hosted in its own `node:vm` context: compiled from its file, fed batches of
 * events by the projector, faulted (and frozen at its last checkpoint) when a handler throws
 * or exceeds the time limit. The vm context is per projection, so a fault or a stray global
 * in one file never reaches another.
 */
export class ProjectionRuntime {
  readonly name: string;
  readonly sourceHash: string;
  status: ProjectionRunStatus = 'running';
  reason: string | null = null;
  /** Last event position applied in memory (what `getState` reflects). */
  position: Position | null = null;
  /** Last position persisted with the states. */
  checkpoint: Position | null = null;
  /** Events handled since start (metrics). */
  handled = 0;

  readonly #source: string;
  readonly #store: ProjectionStateStore;
  readonly #options: RuntimeOptions;
  #definition: QueryDefinition | undefined;
  #filter: EventFilter | undefined;
  #dispatcher: Dispatcher | undefined;
  #runResult: ((timeoutMs: number) => void) | undefined;
  /** Set when the last commit recorded a status change (fault) not yet persisted. */
  #dirtyStatus = false;
  /**
   * The partitions of ours the state store holds, when known: from a reset (rebuild from zero,
   * the store holds none) on, every commit adds its keys. A cache miss on a key not in it needs
   * no store lookup: a rebuild would otherwise query once per new partition, for nothing (93k
   * lookups in a 1M-event rebuild, once evictions start). null: unknown (after a resync, when
   * starting from a checkpoint, or once it grew past {@link MAX_TRACKED_PER_CACHED} times the
   * partition cache, to bound its memory): every miss asks the store. Another process
   * committing meanwhile is caught by the checkpoint conflict (resync).
   */
  #storedKeys: Set<string> | null = null;

  constructor(file: ProjectionSource, store: ProjectionStateStore, options: RuntimeOptions) {
    this.name = file.name;
    this.#source = file.source;
    this.sourceHash = sourceHash(file.source);
    this.#store = store;
    this.#options = options;
  }

  /** Loads the checkpoint (rebuilding from zero when the source changed) and compiles the file. */
  open(): void {
    const stored = this.#store.readCheckpoint(this.name);
    if (stored && stored.sourceHash !== this.sourceHash) {
      this.#options.log(`projection ${this.name}: source changed, rebuilding from the start`);
      this.#store.reset(this.name);
      this.#storedKeys = new Set();
    } else if (stored) {
      this.checkpoint = stored.position;
      this.position = stored.position;
      if (stored.status === 'faulted') {
        this.status = 'faulted';
        this.reason = stored.reason;
      }
      // Commits write states and checkpoint together: no event applied yet, no state stored.
      if (stored.position === null) this.#storedKeys = new Set();
    } else this.#storedKeys = new Set();
    this.syncExpected();
    this.#compile();
  }

  /** Forgets everything and starts over from the first event (state store and memory). */
  reset(): void {
    this.#store.reset(this.name);
    this.checkpoint = null;
    this.position = null;
    this.status = 'running';
    this.reason = null;
    this.handled = 0;
    this.#dirtyStatus = false;
    this.#storedKeys = new Set();
    this.syncExpected();
    this.#compile();
  }

  /** Reloads the persisted checkpoint and drops memory (another process moved it). */
  resync(): void {
    const stored = this.#store.readCheckpoint(this.name);
    this.checkpoint = stored?.position ?? null;
    this.position = this.checkpoint;
    this.status = stored?.status ?? 'running';
    this.reason = stored?.reason ?? null;
    this.#dirtyStatus = false;
    this.#storedKeys = null;
    this.syncExpected();
    if (this.status === 'running' && this.#dispatcher) this.#dispatcher.drop();
    else this.#compile();
  }

  #compile(): void {
    this.#definition = undefined;
    this.#dispatcher = undefined;
    try {
      const context = createContext({}, { name: `projection ${this.name}`, codeGeneration: { strings: false, wasm: false } });
      new Script(PRELUDE).runInContext(context);
      const query = installDsl(context, (m) => this.#options.log(`projection ${this.name}: ${m}`));
      new Script(this.#source, { filename: `${this.name}.js` }).runInContext(context, { timeout: 1000 });
      this.#definition = query();
      this.#filter = compileEventFilter(this.#definition);
      const d = createDispatcher(context, this.#definition, (key) =>
        this.#storedKeys === null || this.#storedKeys.has(key) ? this.#store.readState(this.name, key) : undefined,
      );
      this.#dispatcher = d.dispatcher;
      this.#dispatcher.job.limit = this.#options.eventTimeoutMs;
      this.#runResult = d.runResult;
    } catch (err) {
      this.#fault(`cannot load the projection: ${messageOf(err)}`);
    }
  }

  get definition(): QueryDefinition | undefined {
    return this.#definition;
  }

  /** Whether this projection reads the event at all (selector and handler). */
  wants(e: RecordedEvent): boolean {
    const d = this.#definition!;
    const h = d.handlers;
    if (!h || !(Object.hasOwn(h, e.type) || Object.hasOwn(h, '$any'))) return false;
    return selects(d.selector, e.streamId);
  }

  /**
   * Prepares a batch (events after this projection's position only, the ones it reads) for the
   * slice driver and returns its job; null when there is nothing to run (faulted, or no event
   * for it: its position moves on without a vm call). `categories[i]` is the category of
   * `batch[i]` (the projector computes them once for every projection). `through`: where the
   * batch ends when events past its last one were skipped unread (catch-up workers read only the
   * types they handle); the position moves there. Once the driver is
   * through, {@link finishBatch}; a slice that came back early goes to {@link slowSlice} or
   * {@link failedSlice}.
   */
  prepare(batch: RecordedEvent[], categories: readonly string[] = categoriesOf(batch), through?: Position): SliceJob | null {
    if (this.status !== 'running') return null;
    const last = through ?? batch[batch.length - 1]?.position;
    if (last === undefined || !positionAfter(last, this.position)) return null;
    if (batch.length === 0 || !positionAfter(batch[batch.length - 1]!.position, this.position)) {
      // Nothing after our position (only skipped events in the window): move through it.
      this.position = last;
      return null;
    }
    const events: RecordedEvent[] = [];
    // Batches come in position order: once one event is after ours, all the following are.
    let from = 0;
    while (!positionAfter(batch[from]!.position, this.position)) from++;
    const wanted = this.#filter!;
    for (let i = from; i < batch.length; i++) {
      const e = batch[i]!;
      if (wanted(e, categories[i]!)) events.push(e);
    }
    if (events.length === 0) {
      // Nothing for this projection: no vm call at all.
      this.position = last;
      return null;
    }
    const d = this.#dispatcher!;
    d.job.events = events;
    d.job.index = 0;
    d.job.slowIndex = -1;
    this.#batchLast = last;
    return { run: d.run, done: false };
  }

  /** Last position of the batch being applied (set by {@link prepare}). */
  #batchLast: Position | null = null;

  /** The batch ran through: the position moves to its end. */
  finishBatch(): void {
    const d = this.#dispatcher;
    if (this.status !== 'running' || !d || d.job.events === null) return;
    this.handled += d.job.events.length;
    this.position = this.#batchLast;
    d.job.events = null;
  }

  /**
   * An event alone took longer than the limit in wall time. It is a fault only if the process
   * really spent that much CPU on it (`cpuUsedMs` since this projection's part of the slice
   * began); otherwise the machine was busy and the batch goes on.
   */
  slowSlice(cpuUsedMs: number): 'continue' | 'faulted' {
    const d = this.#dispatcher!;
    const limit = this.#options.eventTimeoutMs;
    if (cpuUsedMs < limit) return 'continue';
    const e = (d.job.events as RecordedEvent[])[d.job.slowIndex]!;
    this.#fault(`handling ${describe(e)} took ${Math.round(d.job.slowMs)} ms, over the ${limit} ms limit`);
    return 'faulted';
  }

  /**
   * A handler threw, or the watchdog stopped the slice inside this projection. `faulted`: its
   * memory is dropped back to the last checkpoint and it stops. `retry`: the watchdog fired
   * although this projection had not used the limit in CPU time (the process was descheduled):
   * memory is dropped back to the last checkpoint without a fault and the projector re-reads
   * from there.
   */
  failedSlice(err: unknown, timedOut: boolean, cpuUsedMs: number): 'faulted' | 'retry' {
    const d = this.#dispatcher!;
    const events = d.job.events as RecordedEvent[];
    const e = events[Math.min(d.job.index, events.length - 1)];
    d.job.events = null;
    const limit = this.#options.eventTimeoutMs;
    if (timedOut && cpuUsedMs < limit) {
      this.#options.log(`projection ${this.name}: a slice was stopped while the machine was busy; re-reading from the checkpoint`);
      this.resync();
      return 'retry';
    }
    this.#fault(
      timedOut
        ? `handling ${e ? describe(e) : 'an event'} exceeded the ${limit} ms limit`
        : `handler failed on ${e ? describe(e) : 'an event'}: ${messageOf(err)}`,
    );
    return 'faulted';
  }

  /** What to persist now; null when nothing changed since the last commit. */
  pendingCommit(): ProjectionCommit | null {
    const moved = this.position !== null && positionAfter(this.position, this.checkpoint);
    if (!moved && !this.#dirtyStatus) return null;
    let partitions: Array<[string, string]> = [];
    if (this.status === 'running' && this.#dispatcher) {
      try {
        partitions = this.#dispatcher.changes();
      } catch (err) {
        // A state that cannot be serialised (cycle, BigInt) is the projection's fault.
        this.#fault(`its state cannot be stored as JSON: ${messageOf(err)}`);
        return this.pendingCommit();
      }
    }
    return {
      name: this.name,
      expected: this.#persistedExpected,
      checkpoint: { position: this.status === 'running' ? this.position : this.checkpoint, sourceHash: this.sourceHash, status: this.status, reason: this.reason },
      partitions,
    };
  }

  /** The checkpoint the store holds for us (what a commit builds on). */
  #persistedExpected: Position | null = null;

  /** Records the checkpoint read from the store at open/resync/reset. */
  syncExpected(): void {
    this.#persistedExpected = this.#store.readCheckpoint(this.name)?.position ?? null;
  }

  /** The commit built by {@link pendingCommit} is stored. */
  committed(commit: ProjectionCommit): void {
    this.checkpoint = commit.checkpoint.position;
    this.#persistedExpected = commit.checkpoint.position;
    this.#dirtyStatus = false;
    const known = this.#storedKeys;
    if (known !== null) {
      for (const [key] of commit.partitions) known.add(key);
      if (known.size > this.#options.maxCachedPartitions * MAX_TRACKED_PER_CACHED) this.#storedKeys = null;
    }
    const d = this.#dispatcher;
    if (d && this.status === 'running') {
      d.committed();
      if (d.size() > this.#options.maxCachedPartitions) {
        d.evict(Math.floor(this.#options.maxCachedPartitions * 0.75));
      }
    }
  }

  /** Partition states held in memory (the projector commits early when this outgrows the cache). */
  cachedPartitions(): number {
    return this.status === 'running' && this.#dispatcher ? this.#dispatcher.size() : 0;
  }

  /** The state of a partition as JSON text, from memory or the store; undefined when none. */
  stateJson(partition: string): string | undefined {
    if (this.status === 'running' && this.#dispatcher) {
      const p = this.#dispatcher.peek(partition);
      if (p.found) return p.json;
    }
    return this.#store.readState(this.name, partition);
  }

  /** The query's result: the state through `transformBy`/`filterBy` (the state when there are none). */
  resultJson(partition: string): string | undefined {
    const state = this.stateJson(partition);
    const d = this.#dispatcher;
    if (!d || !this.#definition?.resultSteps.length) return state;
    d.resultJob.input = state;
    this.#runResult!(this.#options.eventTimeoutMs * 2);
    return d.resultJob.output;
  }

  get partitioned(): boolean {
    return this.#definition !== undefined && this.#definition.partitioning !== 'none';
  }

  #fault(reason: string): void {
    this.status = 'faulted';
    this.reason = reason;
    this.#dirtyStatus = true;
    // Memory may hold half-applied work: fall back to what the last checkpoint stored.
    this.position = this.checkpoint;
    this.#dispatcher = undefined;
    this.#options.log(`projection ${this.name} faulted: ${reason}`);
  }
}

const describe = (e: RecordedEvent): string => `${e.type} #${e.revision} of ${JSON.stringify(e.streamId)} at position ${e.position.commit}`;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
