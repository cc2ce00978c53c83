import type { Worker } from 'node:worker_threads';
import { EngineError, ErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../flow/deps.js';
import type { ProjectionStateStore } from '../store/projectionState/types.js';
import { SqliteEventStore } from '../store/sqlite/sqliteEventStore.js';
import { parseSqliteConnectionString, type SqliteStoreOptions } from '../store/sqlite/sqliteOptions.js';
import type { EventStore } from '../store/types.js';
import { fromWireError } from '../store/sqlite/writerWire.js';
import { siblingEntry, startWorker } from '../workerBoot.js';
import { loadProjectionFiles } from './loadProjections.js';
import { createPositionWaiters } from './positionWaiters.js';
import { fileOf, projectionNotFound, startProjector, withLag, type ProjectionProgressInfo, type Projector } from './projector.js';
import type { ProjectionSource } from './projectionRuntime.js';
import { TUNING_KEYS, type ProjectorCall, type ProjectorReport, type ProjectorTuning } from './projectorWire.js';

const ENTRY = siblingEntry('projectorWorker', import.meta.url);
/** A projector thread that died is started again after this long, doubling while it keeps dying. */
const RESTART_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** How long a stopping thread gets to store what it applied before it is ended. */
const STOP_TIMEOUT_MS = 10_000;

export interface StartProjectorThreadOptions extends ProjectorTuning {
  /** The event loop's store of the log: the thread reads the same file on its own connection. */
  store: SqliteEventStore;
  /** How the thread opens the log (path, busy timeout, poll interval); it never appends. */
  storeOptions: SqliteStoreOptions;
  /** The state store on this thread: `partitions()` reads it. */
  stateStore: ProjectionStateStore;
  /** The state store's `openProjectionState` connection string, for the thread's own connection. */
  stateConnection: string;
  /** Folder of projection files (default: the repository's `projections/`). */
  dir?: string;
  /** The files themselves, instead of `dir`. */
  projections?: ProjectionSource[];
  logger?: Logger;
}

/** The projector thread's projector, with what fault drills need. */
export interface ThreadedProjector extends Projector {
  /** Ends the thread as a crash would: calls in flight fail, it is started again after a delay. */
  killThread(): Promise<void>;
}

type Call = Extract<ProjectorCall, { kind: 'call' }>;
type CallBody = Call extends infer C ? (C extends Call ? Omit<C, 'id' | 'kind'> : never) : never;

/**
 * The embedded projector on a thread of its own: the same `startProjector`, run by a worker
 * thread on its own connections to the log and the state store, so applying events, storing
 * states and the handlers' time limits (a watchdog thread started per batch) cost the event
 * loop nothing. What stays here: the thread's progress as it last reported it (after every
 * batch), waiters on it, and calls for state reads, rebuilds and the stop. A write on this
 * side wakes the thread at once (`catchUp`), otherwise it sees the log's commits within the
 * store's poll interval.
 *
 * Only over a SQLite file log and SQLite file states. A thread that dies is started again
 * (from the stored checkpoints); calls in flight fail with `store_unavailable`.
 */
export function startProjectorThread(options: StartProjectorThreadOptions): ThreadedProjector {
  const logger = options.logger ?? silentLogger;
  const files = options.projections ?? loadProjectionFiles(options.dir);
  const names = files.map((f) => f.name);
  const tuning: ProjectorTuning = {};
  for (const key of TUNING_KEYS) if (options[key] !== undefined) Object.assign(tuning, { [key]: options[key] });
  const progress = new Map<string, ProjectionProgressInfo>(
    names.map((name) => [name, { name, status: 'running', reason: null, position: null, checkpoint: null, handled: 0, partitioned: false }]),
  );
  /** Events handled by threads that ended: `handled` counts since this process started. */
  const handledBefore = new Map<string, number>(names.map((n) => [n, 0]));
  const waiters = createPositionWaiters((name) => progress.get(name)!);
  /** Calls sent to the running thread, by id. */
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (err: unknown) => void }>();
  /** Calls made while no thread runs (it is being started again): sent to the next one. */
  let queued: Call[] = [];
  let nextId = 1;
  let worker: Worker | undefined;
  let startedAt = 0;
  let stopping = false;
  let restartMs = RESTART_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let markReady!: () => void;
  let failReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);
  let isReady = false;

  const check = (name: string): void => {
    if (!progress.has(name)) throw projectionNotFound(name);
  };

  /** Keeps the process alive only while a call waits for the thread (as the writer thread does). */
  const track = (): void => {
    if (pending.size > 0) worker?.ref();
    else worker?.unref();
  };

  const rejectPending = (err: unknown): void => {
    const calls = [...pending.values()];
    pending.clear();
    track();
    for (const p of calls) p.reject(err);
  };

  const onReport = (r: ProjectorReport): void => {
    switch (r.kind) {
      case 'progress':
        for (const p of r.projections) progress.set(p.name, { ...p, handled: handledBefore.get(p.name)! + p.handled });
        waiters.settle();
        return;
      case 'ready':
        if (!isReady) {
          isReady = true;
          markReady();
        }
        return;
      case 'reply': {
        const p = pending.get(r.id);
        pending.delete(r.id);
        track();
        if (r.ok) p?.resolve(r.value);
        else p?.reject(fromWireError(r.error));
        return;
      }
      case 'log':
        logger[r.level](r.obj, r.msg);
    }
  };

  /** The thread ended without being asked to (or could not start): what it applied and had not stored is gone. */
  const lost = (why: string): void => {
    worker = undefined;
    const err = new EngineError(ErrorCode.STORE_UNAVAILABLE, `The projector thread stopped (${why})`);
    rejectPending(err);
    // The next thread starts from the stored checkpoints: nobody may be told a position it
    // has not reached again.
    for (const [name, p] of progress) {
      handledBefore.set(name, p.handled);
      progress.set(name, { ...p, position: p.checkpoint });
    }
    if (stopping) return;
    if (!isReady) {
      // Not even the first catch-up finished: a start-up failure, not something to retry.
      stopping = true;
      waiters.failAll(err);
      for (const c of queued) pending.get(c.id)?.reject(err);
      queued = [];
      failReady(err);
      return;
    }
    // A thread that had been up for a while is started again soon; one that keeps dying, later and later.
    if (performance.now() - startedAt > RESTART_MAX_MS) restartMs = RESTART_MS;
    logger.error({ component: 'projector', why, restartInMs: restartMs }, 'the projector thread stopped; starting it again');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopping) start();
    }, restartMs);
    restartTimer.unref();
    restartMs = Math.min(restartMs * 2, RESTART_MAX_MS);
  };

  const start = (): void => {
    let w: Worker;
    startedAt = performance.now();
    try {
      w = startWorker(ENTRY, { store: options.storeOptions, stateConnection: options.stateConnection, projections: files, tuning }, { execArgv: [] });
    } catch (err) {
      logger.error({ component: 'projector', err: String(err) }, 'cannot start the projector thread');
      return lost('it could not be started');
    }
    worker = w;
    w.on('message', onReport);
    w.on('error', (err) => logger.error({ component: 'projector', err }, 'the projector thread failed'));
    // A reply that cannot be read back would leave its caller waiting: treat as a dead thread.
    w.on('messageerror', (err) => {
      logger.error({ component: 'projector', err }, 'a message of the projector thread could not be read');
      if (worker === w) lost('unreadable message');
      void w.terminate();
    });
    w.on('exit', (code) => {
      if (worker === w) lost(`exit code ${code}`);
    });
    for (const c of queued) send(w, c);
    queued = [];
    // After the listeners: adding a 'message' listener refs the port again.
    track();
  };

  const send = (w: Worker, c: Call): void => {
    w.postMessage(c);
  };

  const call = (body: CallBody): Promise<unknown> => {
    if (stopping) return Promise.reject(new EngineError(ErrorCode.STORE_CLOSED, 'The projector stopped'));
    const c = { ...body, id: nextId++, kind: 'call' } as Call;
    return new Promise((resolve, reject) => {
      pending.set(c.id, { resolve, reject });
      if (worker === undefined) queued.push(c);
      else {
        send(worker, c);
        track();
      }
    });
  };

  const waitFor = (position: Parameters<Projector['waitFor']>[0], timeoutMs: number, which: string[] = names): Promise<void> => {
    for (const n of which) check(n);
    if (position === null) return Promise.resolve();
    worker?.postMessage({ kind: 'poke' } satisfies ProjectorCall);
    return waiters.wait(position, timeoutMs, which);
  };

  const snapshot = (): ProjectionProgressInfo[] => names.map((n) => ({ ...progress.get(n)! }));

  start();
  // Ready once every projection caught up with the log as it was at start (faulted ones skipped).
  const started = options.store.headPosition().then(async (head) => {
    await ready;
    if (head !== null) await waiters.wait(head, Infinity, names, true);
  });
  started.catch(() => undefined);

  return {
    ready: started,
    names: () => names,
    positionOf: (name) => {
      check(name);
      return progress.get(name)!.position;
    },
    waitFor,
    catchUp: async (timeoutMs, which = names) => waitFor(await options.store.headPosition(), timeoutMs, which),
    async getState<T>(name: string, partition?: string) {
      check(name);
      return (await call({ op: 'getState', name, partition })) as T | undefined;
    },
    async getResult<T>(name: string, partition?: string) {
      check(name);
      return (await call({ op: 'getResult', name, partition })) as T | undefined;
    },
    partitions: (name) => {
      check(name);
      return options.stateStore.listPartitions(name);
    },
    progress: snapshot,
    list: async () => withLag(snapshot(), await options.store.headPosition()),
    async rebuild(name) {
      check(name);
      // As in-process: from now on, nobody waits on what the rebuild is about to redo.
      progress.set(name, { ...progress.get(name)!, position: null, checkpoint: null });
      handledBefore.set(name, 0);
      await call({ op: 'rebuild', name });
    },
    async killThread() {
      await worker?.terminate();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const closed = new EngineError(ErrorCode.STORE_CLOSED, 'The projector stopped');
      for (const c of queued) pending.get(c.id)?.reject(closed);
      for (const c of queued) pending.delete(c.id);
      queued = [];
      const w = worker;
      if (w !== undefined) {
        const id = nextId++;
        const stopped = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
        send(w, { kind: 'call', id, op: 'stop' });
        track();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)));
        await Promise.race([stopped.catch((err: unknown) => logger.warn({ component: 'projector', err: String(err) }, 'the projector thread did not stop cleanly')), timeout]);
        clearTimeout(timer);
        worker = undefined;
        await w.terminate();
      }
      waiters.failAll(closed);
      rejectPending(closed);
      if (!isReady) failReady(closed);
    },
  };
}

/**
 * The projector `flowctl serve` runs: on a thread of its own ({@link startProjectorThread})
 * over a SQLite file log with its states in SQLite (`connection` names both, as
 * `openProjectionState` does); in-process over anything else (memory stores, EventStoreDB), or
 * with `thread: false`.
 */
export function startServeProjector(o: { store: EventStore; connection: string; stateStore: ProjectionStateStore; logger: Logger; thread?: boolean }): Projector {
  const onFile = o.store instanceof SqliteEventStore && fileOf(o.store) !== undefined && o.stateStore.path !== undefined && o.connection.startsWith('sqlite:');
  if (!onFile || o.thread === false) return startProjector({ store: o.store, stateStore: o.stateStore, logger: o.logger });
  return startProjectorThread({
    store: o.store as SqliteEventStore,
    storeOptions: parseSqliteConnectionString(o.connection),
    stateStore: o.stateStore,
    stateConnection: o.connection,
    logger: o.logger,
  });
}
