import { availableParallelism } from 'node:os';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { silentLogger, type Logger } from '../flow/deps.js';
import type { ProjectionStateStore } from '../store/projectionState/types.js';
import type { EventStore, Position, RecordedEvent, Subscription } from '../store/types.js';
import { applyBatch, commitRuntimes } from './applyBatch.js';
import { withCosts } from './catchUpCost.js';
import { groupForThreads, startCatchUpThreads, worseOutcome, type CatchUpThreads, type CatchUpThreadsOutcome } from './catchUpThreads.js';
import { catchUpByWindows, handledTypes, lowestLogPosition, turn } from './windowCatchUp.js';
import { openLogWindowReader } from '../store/sqlite/logWindowReader.js';
import { MEMORY_PATH } from '../store/sqlite/sqliteOptions.js';
import { loadProjectionFiles } from './loadProjections.js';
import { createPositionWaiters, type ProjectionProgress } from './positionWaiters.js';
import { lowestPosition, ProjectionRuntime, type ProjectionSource } from './projectionRuntime.js';
import { createSliceDriver } from './sliceDriver.js';
import type { ProjectionReader } from './reader.js';

export interface StartProjectorOptions {
  store: EventStore;
  stateStore: ProjectionStateStore;
  /** Folder of projection files (default: the repository's `projections/`). */
  dir?: string;
  /** The files themselves, instead of `dir` (tests). */
  projections?: ProjectionSource[];
  /**
   * Events applied between two turns of the event loop while catching up (default 2000). A
   * batch boundary commits once {@link commitIntervalMs} has passed since the last commit;
   * whatever arrives once the subscription is idle (live) is committed at once.
   */
  batchSize?: number;
  /**
   * While catching up, the longest a commit is put off (default 5000 ms): the most applied work
   * a crash can make the projector redo. Committing less often during a rebuild writes a
   * partition touched by many batches once instead of once per batch, and pays SQLite's WAL
   * checkpoints a few times instead of per batch. 0 commits at every batch boundary.
   */
  commitIntervalMs?: number;
  /**
   * Once live, the shortest time between two commits (default 250 ms). A projector that has
   * been quiet commits a live batch at once; under sustained traffic the batches of that window
   * share one commit (one fsync) instead of one each. A crash redoes at most that window.
   */
  liveCommitIntervalMs?: number;
  /**
   * Threads for a long catch-up, this one included (default: the machine's available
   * parallelism; 1: by windows on this thread only; 0: always through the subscription). Only
   * over a SQLite file log with SQLite file state: each worker reads the log on its own
   * connection and commits its projections' states and checkpoints together on its own
   * connection, so the crash guarantee is the same.
   */
  catchUpThreads?: number;
  /**
   * How far behind the log's head (in events) a running projection must be for its catch-up
   * to go by windows and worker threads (default 100 000): below that, starting a worker (about
   * a second under tsx) costs more than it saves.
   */
  threadedCatchUpFrom?: number;
  /** Per-event time limit of handlers (default 250 ms, as EventStoreDB). */
  eventTimeoutMs?: number;
  /** Cached partition states per projection before persisted ones are dropped (default 100 000). */
  maxCachedPartitions?: number;
  logger?: Logger;
  /** Called whenever a projection's progress (position, status, checkpoint) may have changed. */
  onProgress?: () => void;
}

/** One projection's progress, as its projector knows it now. */
export interface ProjectionProgressInfo extends ProjectionProgress {
  name: string;
  /** Last position persisted with the states. */
  checkpoint: Position | null;
  /** Events handled since this process started. */
  handled: number;
  partitioned: boolean;
}

/** One projection as `flowctl projections list` and the dashboard show it. */
export interface ProjectionInfo extends ProjectionProgressInfo {
  /** Events in `$all` after `position` (head − position), the lag metric. */
  lag: number;
}

export interface Projector extends ProjectionReader {
  /** Resolves when every running projection has caught up with the log as it was at start. */
  readonly ready: Promise<void>;
  names(): string[];
  positionOf(name: string): Position | null;
  /**
   * Resolves once the named projections (default: all) have applied every event up to
   * `position`. Rejects with `projection_faulted` when one of them is faulted and with
   * `store_unavailable` after `timeoutMs` (Infinity waits as long as it takes).
   */
  waitFor(position: Position | null, timeoutMs: number, names?: string[]): Promise<void>;
  /** {@link waitFor} the log's head as it is now: read-your-writes for the caller's appends. */
  catchUp(timeoutMs: number, names?: string[]): Promise<void>;
  /** The query result (the state through `transformBy`/`filterBy`). */
  getResult<T>(name: string, partition?: string): Promise<T | undefined>;
  /** Partitions persisted so far (the CLI lists them). */
  partitions(name: string): string[];
  /** Every projection's progress now (no lag: that needs the log's head). */
  progress(): ProjectionProgressInfo[];
  list(): Promise<ProjectionInfo[]>;
  /** Drops a projection's state and re-runs it from the first event; resolves once caught up. */
  rebuild(name: string): Promise<void>;
  /** Stops reading; persists what was applied. Does not close the stores (the caller owns them). */
  stop(): Promise<void>;
}

/** The SQLite file of a file-backed SQLite event store; undefined for any other store. */
export const fileOf = (store: EventStore): string | undefined => {
  const path = (store as { path?: unknown }).path;
  return typeof path === 'string' && path !== MEMORY_PATH ? path : undefined;
};
/** Catch-ups refused by another process moving a checkpoint before workers are given up. */
const MAX_THREAD_CONFLICTS = 3;

const RETRY_MS = 500;
/** A live commit that found the write lock taken is tried again this much later, doubling. */
const BUSY_RETRY_MS = 2;
/** Live commits put off in a row before the projector says so in its log. */
const BUSY_WARN_AFTER = 20;
/** Events handed to the projections at once while catching up (commits still follow `batchSize`). */
const APPLY_CHUNK = 2500;

/**
 * The embedded projector: runs the `projections/` files against the event store, the way
 * EventStoreDB runs them as continuous projections.
 *
 * One catch-up subscription to `$all` feeds every projection (each skips events at or before
 * its own checkpoint), so the log is read and parsed once however many projections there are.
 * Events are applied in batches: `batchSize` while catching up, and whatever has arrived when
 * the subscription goes idle once live. Commits follow a time budget (`commitIntervalMs` while
 * catching up, `liveCommitIntervalMs` once live): the changed partition states and all
 * checkpoints go in one transaction of the state store, so a crash at any moment restarts from
 * a checkpoint that matches the states exactly, just older.
 *
 * Several processes may run a projector over one SQLite file: a commit refused because another
 * process moved a checkpoint makes this one reload and follow (both compute the same states).
 */
export function startProjector(options: StartProjectorOptions): Projector {
  const { store, stateStore } = options;
  const logger = options.logger ?? silentLogger;
  const onProgress = options.onProgress;
  const batchSize = options.batchSize ?? 2000;
  const commitIntervalMs = options.commitIntervalMs ?? 5000;
  const liveCommitIntervalMs = options.liveCommitIntervalMs ?? 250;
  const maxCachedPartitions = options.maxCachedPartitions ?? 100_000;
  const runtimeOptions = {
    eventTimeoutMs: options.eventTimeoutMs ?? 250,
    maxCachedPartitions,
    log: (message: string) => logger.warn({ component: 'projector' }, message),
  };
  const files = options.projections ?? loadProjectionFiles(options.dir);
  let catchUpThreads = options.catchUpThreads ?? availableParallelism();
  const threadedCatchUpFrom = BigInt(options.threadedCatchUpFrom ?? 100_000);
  /** A worker takes over projections of this thread only this far from the end (see `handOff`). */
  const handOffFrom = Number(threadedCatchUpFrom) / 2;
  const eventsPath = fileOf(store);
  const drive = createSliceDriver();
  const runtimes = new Map<string, ProjectionRuntime>();
  for (const file of files) {
    const runtime = new ProjectionRuntime(file, stateStore, runtimeOptions);
    runtime.open();
    runtimes.set(file.name, runtime);
  }

  let pending: RecordedEvent[] = [];
  let generation = 0;
  let subscription: Subscription | undefined;
  let stopped = false;
  let flushScheduled = false;
  /** Events applied to memory since the last batch boundary (one follows every `batchSize`). */
  let appliedSinceBoundary = 0;
  /** When the last commit happened (performance.now()), for {@link commitIntervalMs}. */
  let lastCommitAt = performance.now();
  const applyChunk = Math.min(APPLY_CHUNK, batchSize);
  let wakeLoop: (() => void) | undefined;

  const runtime = (name: string): ProjectionRuntime => {
    const r = runtimes.get(name);
    if (!r) throw projectionNotFound(name);
    return r;
  };

  const waiters = createPositionWaiters((name) => runtimes.get(name)!);
  const settle = (): void => {
    waiters.settle();
    onProgress?.();
  };

  /** Live commits in a row that found the write lock taken (see `flushCommit`). */
  let busyCommits = 0;

  /** A projection holds more changed partitions than it may cache: they go once stored. */
  const overCache = (): boolean => {
    for (const r of runtimes.values()) if (r.cachedPartitions() > maxCachedPartitions) return true;
    return false;
  };

  /** Commits; with `wait: false`, returns false (nothing stored) instead of waiting for another connection's write lock. */
  const commit = (options?: { wait: false }): boolean => {
    const outcome = commitRuntimes(stateStore, runtimes.values(), options);
    if (outcome.kind === 'busy') return false;
    lastCommitAt = performance.now();
    busyCommits = 0;
    if (outcome.kind === 'stored' && outcome.commits.length > 0) onProgress?.(); // checkpoints moved
    if (outcome.kind === 'conflict') {
      logger.info({ component: 'projector', projection: outcome.projection }, 'another process moved a checkpoint; following it');
      for (const r of runtimes.values()) r.resync();
      restart();
      onProgress?.(); // positions went back to the stored checkpoints
    } else if (outcome.kind === 'failed') {
      // Storage trouble: memory stays ahead and the next batch retries the commit.
      logger.error({ component: 'projector', err: outcome.error }, 'cannot persist projection states');
    }
    return true;
  };

  /**
   * Applies what has arrived to memory (no commit). During catch-up this runs every
   * {@link APPLY_CHUNK} events so that events are handled while still young (a batch held
   * whole until its commit would be copied through the young generation and promoted).
   */
  const applyPending = (): void => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    appliedSinceBoundary += batch.length;
    if (applyBatch(runtimes.values(), batch, drive, runtimeOptions.eventTimeoutMs)) restart();
  };

  /** A live commit put off by {@link liveCommitIntervalMs}; it runs when the window ends. */
  let deferredCommit: NodeJS.Timeout | undefined;
  /** When a flush last tried to commit: the first flush after a quiet spell commits at once. */
  let lastFlushCommitAt = Number.NEGATIVE_INFINITY;
  /**
   * A live commit runs on the event loop, so it does not wait for the write lock: SQLite's
   * busy handler would sleep the whole loop (1, 2, 5, 10 ms... steps) while another connection
   * commits, such as the event store's writer during its fsync or a catch-up worker storing
   * 100k partitions. A taken lock puts the commit off instead (2 ms, doubling up to
   * `liveCommitIntervalMs`), memory staying ahead: waiters wait on applied positions, not
   * stored ones, and a crash re-handles from the stored checkpoint. A projection holding more
   * changed partitions than it may cache waits for the lock, as a catch-up commit does, and so
   * does the last commit of `stop()`, which must store what was applied.
   */
  const flushCommit = (pressure = false): void => {
    lastFlushCommitAt = performance.now();
    if (commit(pressure || stopped ? undefined : { wait: false })) return;
    if (++busyCommits === BUSY_WARN_AFTER) logger.warn({ component: 'projector' }, `projection commits put off ${BUSY_WARN_AFTER} times in a row: another connection keeps the write lock`);
    deferredCommit ??= setTimeout(() => {
      deferredCommit = undefined;
      if (!stopped) flushCommit(overCache());
    }, Math.max(BUSY_RETRY_MS, Math.min(BUSY_RETRY_MS * 2 ** Math.min(busyCommits - 1, 10), liveCommitIntervalMs)));
    deferredCommit.unref?.();
  };

  /**
   * Applies what has arrived, commits (unless a commit happened less than
   * {@link liveCommitIntervalMs} ago: then once that window ends), wakes waiters (they wait on
   * applied positions). Synchronous: nothing interleaves.
   */
  const flush = (): void => {
    flushScheduled = false;
    applyPending();
    appliedSinceBoundary = 0;
    const wait = lastFlushCommitAt + liveCommitIntervalMs - performance.now();
    const pressure = overCache();
    if (wait > 0 && !stopped && !pressure) {
      deferredCommit ??= setTimeout(() => {
        deferredCommit = undefined;
        if (!stopped) flushCommit(overCache());
      }, wait);
      deferredCommit.unref?.();
    } else {
      if (deferredCommit) clearTimeout(deferredCommit);
      deferredCommit = undefined;
      flushCommit(pressure);
    }
    settle();
  };

  /**
   * A catch-up batch boundary: applies what has arrived and wakes waiters (they wait on applied
   * positions, not persisted ones), but commits only once {@link commitIntervalMs} has passed,
   * or when a projection holds more changed partitions than it may cache (they can only be
   * dropped from memory once stored). The commit is still one transaction for states and
   * checkpoints, so what a crash leaves behind is consistent, just older.
   */
  const batchBoundary = (): void => {
    flushScheduled = false;
    applyPending();
    appliedSinceBoundary = 0;
    if (performance.now() - lastCommitAt >= commitIntervalMs || overCache()) commit();
    settle();
  };

  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    // Runs once the subscription has nothing more to hand out synchronously: the live batch.
    setImmediate(() => {
      if (flushScheduled && !stopped) flush();
    });
  };

  /** Re-reads from the lowest checkpoint (after a rebuild or a resync). */
  const restart = (): void => {
    generation++;
    pending = [];
    void subscription?.unsubscribe();
    wakeLoop?.();
  };

  const lowest = (): Position | null | undefined => lowestPosition(runtimes.values());

  /** The catch-up running in worker threads, if any (stop() asks it to end). */
  let threads: CatchUpThreads | undefined;
  let threadConflicts = 0;

  /**
   * Catches up the running projections that are far behind the head by windows of the log
   * file (see {@link StartProjectorOptions.catchUpThreads}) and waits until done: one group
   * of projections on this thread (its runtimes as they are), every other group in a
   * worker thread of its own, whose commits this thread follows (positions, waiters). The
   * costliest group (estimated from the log's recent mix of event types) stays here because
   * this thread is ready at once while a worker first has to load its modules. False when there
   * is nothing to catch up this way.
   */
  const windowedCatchUp = async (): Promise<boolean> => {
    const statePath = stateStore.path;
    if (catchUpThreads <= 0 || eventsPath === undefined || statePath === undefined) return false;
    const head = await store.headPosition();
    if (head === null || stopped) return false;
    const behind = [...runtimes.values()].filter((r) => r.status === 'running' && head.commit - (r.position?.commit ?? 0n) >= threadedCatchUpFrom);
    if (behind.length === 0) return false;
    // Workers start from the stored checkpoints: store what this thread applied first.
    commit();
    const candidates = withCosts(behind, eventsPath, Number(head.commit), logger);
    const [own, ...others] = groupForThreads(candidates, catchUpThreads);
    const here = own!.map(runtime);
    const until = Number(head.commit);
    /**
     * A worker finished its share while this thread still has far to go: it takes over the
     * cheaper half of this thread's projections (by estimated cost) from here on. They are
     * stored first, at the window boundary this runs on (a worker's message only gets in
     * between windows), and this thread stops applying events to them; the worker re-reads
     * the rest of the log for them from their checkpoints. Without it the second core idles
     * through the second half of a rebuild (the flow group costs twice the others).
     */
    let ownDone = false;
    const handOff = (): ProjectionSource[] | undefined => {
      const running = here.filter((r) => r.status === 'running');
      const at = lowestLogPosition(running);
      if (stopped || ownDone || running.length < 2 || at === null || until - at < handOffFrom) return undefined;
      const [, give] = groupForThreads(candidates.filter((c) => running.some((r) => r.name === c.name)), 2);
      if (!give) return undefined;
      const moving = give.map(runtime);
      const stored = commitRuntimes(stateStore, moving);
      if (stored.kind !== 'stored') {
        logger.warn({ component: 'projector', outcome: stored.kind }, 'cannot store projections to hand them to a catch-up worker; keeping them');
        return undefined;
      }
      for (const r of moving) {
        here.splice(here.indexOf(r), 1);
        r.resync(); // what it caches is stored: the worker has it from here on
      }
      settle();
      logger.info({ component: 'projector', projections: give, from: at }, 'a catch-up worker takes over projections');
      return give.map((name) => files.find((f) => f.name === name)!);
    };
    logger.info({ component: 'projector', here: own, workers: others, until }, 'catching up by windows');
    threads =
      others.length === 0
        ? undefined
        : startCatchUpThreads({
            eventsPath,
            statePath,
            until,
            eventTimeoutMs: runtimeOptions.eventTimeoutMs,
            maxCachedPartitions,
            commitIntervalMs,
            groups: others.map((g) => g.map((name) => files.find((f) => f.name === name)!)),
            onIdle: handOff,
            onCommitted: (done) => {
              for (const p of done) {
                const r = runtime(p.name);
                r.resync();
                r.handled += p.handled;
              }
              settle();
            },
            log: runtimeOptions.log,
          });
    let outcome: CatchUpThreadsOutcome;
    const eventTypes = handledTypes(here);
    const reader = openLogWindowReader(eventsPath, { eventTypes });
    try {
      const result = await catchUpByWindows({
        reader,
        stateStore,
        runtimes: here,
        until,
        eventTimeoutMs: runtimeOptions.eventTimeoutMs,
        maxCachedPartitions,
        commitIntervalMs,
        onCommitted: settle,
        stopRequested: () => stopped,
      });
      outcome = result.kind;
    } catch (err) {
      logger.error({ component: 'projector', err }, 'cannot persist projection states');
      outcome = 'failed';
    } finally {
      ownDone = true;
      reader.close();
    }
    if (outcome !== 'done') for (const r of here) r.resync();
    if (threads) {
      const ended = await threads.ended;
      threads = undefined;
      for (const r of behind) if (!here.includes(r)) r.resync();
      outcome = worseOutcome(outcome, ended);
    }
    logger.info({ component: 'projector', outcome }, 'catch-up by windows ended');
    if (outcome === 'failed' || (outcome === 'conflict' && ++threadConflicts >= MAX_THREAD_CONFLICTS)) {
      logger.warn({ component: 'projector', outcome }, 'catching up from the subscription only from now on');
      catchUpThreads = 0;
    }
    settle();
    return true;
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      if (lowest() === undefined) {
        await new Promise<void>((resolve) => (wakeLoop = resolve));
        wakeLoop = undefined;
        continue;
      }
      if (await windowedCatchUp()) continue;
      // That awaited: stop() may have come (subscribing now would wait for events forever), or
      // a rebuild that moved the lowest position.
      if (stopped) break;
      const from = lowest();
      if (from === undefined) continue;
      const gen = generation;
      try {
        const sub = store.subscribeToAll({ fromPosition: from ?? 'start' });
        subscription = sub;
        for await (const e of sub) {
          if (gen !== generation || stopped) break;
          pending.push(e);
          if (pending.length >= applyChunk && appliedSinceBoundary + pending.length < batchSize) applyPending();
          else if (appliedSinceBoundary + pending.length >= batchSize) {
            batchBoundary();
            await turn(); // let requests in between catch-up batches
            // Should catch-up end on this boundary, the commit follows once the subscription is idle.
            scheduleFlush();
          } else scheduleFlush();
        }
      } catch (err) {
        if (stopped || (err instanceof EngineError && err.code === ErrorCode.STORE_CLOSED)) break;
        logger.error({ component: 'projector', err }, 'projection subscription failed; resubscribing');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      } finally {
        subscription = undefined;
      }
      if (gen === generation) flush();
    }
  };

  const waitFor = (target: Position | null, timeoutMs: number, names: string[], ignoreFaulted = false): Promise<void> => {
    for (const n of names) runtime(n);
    if (target === null) return Promise.resolve();
    return waiters.wait(target, timeoutMs, names, ignoreFaulted);
  };

  const progress = (): ProjectionProgressInfo[] =>
    [...runtimes.values()].map((r) => ({
      name: r.name,
      status: r.status,
      reason: r.reason,
      position: r.position,
      checkpoint: r.checkpoint,
      handled: r.handled,
      partitioned: r.partitioned,
    }));

  const allNames = [...runtimes.keys()];
  commit(); // persist faults found while loading (a file that does not compile)
  const loopDone = loop();
  const ready = store.headPosition().then((head) => waitFor(head, Infinity, allNames, true));
  ready.catch(() => undefined);

  const parse = <T>(json: string | undefined): T | undefined => (json === undefined ? undefined : (JSON.parse(json) as T));
  const keyOf = (r: ProjectionRuntime, partition: string | undefined): string | null =>
    r.partitioned ? (partition === undefined ? null : partition) : partition === undefined ? '' : null;

  return {
    ready,
    names: () => allNames,
    positionOf: (name) => runtime(name).position,
    waitFor: (position, timeoutMs, names = allNames) => waitFor(position, timeoutMs, names),
    async catchUp(timeoutMs, names = allNames) {
      await waitFor(await store.headPosition(), timeoutMs, names);
    },
    async getState<T>(name: string, partition?: string) {
      const r = runtime(name);
      const key = keyOf(r, partition);
      return key === null ? undefined : parse<T>(r.stateJson(key));
    },
    async getResult<T>(name: string, partition?: string) {
      const r = runtime(name);
      const key = keyOf(r, partition);
      return key === null ? undefined : parse<T>(r.resultJson(key));
    },
    partitions: (name) => stateStore.listPartitions(runtime(name).name),
    progress,
    list: async () => withLag(progress(), await store.headPosition()),
    async rebuild(name) {
      const r = runtime(name);
      flush();
      r.reset();
      commit();
      restart();
      await waitFor(await store.headPosition(), Infinity, [name]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      flush();
      threads?.stop();
      await subscription?.unsubscribe();
      wakeLoop?.();
      await loopDone;
      flush();
      waiters.failAll(new EngineError(ErrorCode.STORE_CLOSED, 'The projector stopped'));
    },
  };
}

/** Progress with each projection's lag behind the log's `head`. */
export function withLag(progress: ProjectionProgressInfo[], head: Position | null): ProjectionInfo[] {
  return progress.map((p) => ({ ...p, lag: head === null ? 0 : Math.max(0, Number(head.commit - (p.position?.commit ?? 0n))) }));
}

/** The error for a projection name no projector runs. */
export function projectionNotFound(name: string): EngineError {
  return new EngineError(ErrorCode.PROJECTION_NOT_FOUND, `No projection named ${quote(name)}`, { details: { projection: name } });
}
