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
/** The longest a call waits for an answer (a thread being started again, or stuck). */
const CALL_TIMEOUT_MS = 10_000;
/** A rebuild re-reads the whole log: its answer may take long. */
const REBUILD_TIMEOUT_MS = 3_600_000;

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
 * (from the stored checkpoints); the calls it had fail with `store_unavailable`, calls made
 * meanwhile go to the next thread.
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
  /** Events handled by threads that ended: `handled` counts since this process started (or the last rebuild). */
  const handledBefore = new Map<string, number>(names.map((n) => [n, 0]));
  /** Rebuilds asked for, by projection: progress from before one is ignored (see `ProjectorCall`). */
  const epochs: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const waiters = createPositionWaiters((name) => progress.get(name)!);
  /** Calls not answered yet, by id; `sent`: handed to the running thread (else queued for the next one). */
  const pending = new Map<number, { call: Call; sent: boolean; resolve: (v: unknown) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let worker: Worker | undefined;
  let startedAt = 0;
  /** Set once stopped, or once the thread failed before its first catch-up: every call fails with it. */
  let ended: EngineError | undefined;
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

  const settle = (id: number, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void => {
    const p = pending.get(id);
    if (p === undefined) return;
    pending.delete(id);
    clearTimeout(p.timer);
    if (outcome.ok) p.resolve(outcome.value);
    else p.reject(outcome.error);
  };

  const onReport = (r: ProjectorReport): void => {
    switch (r.kind) {
      case 'progress':
        for (const p of r.projections) {
          // From before a rebuild the thread had not taken yet: it would undo the reset.
          if ((r.epochs[p.name] ?? 0) < epochs[p.name]!) continue;
          progress.set(p.name, { ...p, handled: handledBefore.get(p.name)! + p.handled });
        }
        waiters.settle();
        return;
      case 'ready':
        if (!isReady) {
          isReady = true;
          markReady();
        }
        return;
      case 'reply':
        settle(r.id, r.ok ? { ok: true, value: r.value } : { ok: false, error: fromWireError(r.error) });
        return;
      case 'log':
        logger[r.level](r.obj, r.msg);
    }
  };

  /** Ends the projector for good: calls, waiters and `ready` fail with `err`. */
  const end = (err: EngineError): void => {
    ended ??= err;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
    for (const id of [...pending.keys()]) settle(id, { ok: false, error: err });
    waiters.failAll(err);
    if (!isReady) failReady(err);
  };

  /** The thread ended without being asked to (or could not start): what it applied and had not stored is gone. */
  const lost = (why: string): void => {
    worker = undefined;
    const err = new EngineError(ErrorCode.STORE_UNAVAILABLE, `The projector thread stopped (${why})`);
    // What the thread had: its answer is lost. What waits for the next thread: sent to it.
    for (const [id, p] of pending) if (p.sent) settle(id, { ok: false, error: err });
    // The next thread starts from the stored checkpoints: nobody may be told a position it
    // has not reached again.
    for (const [name, p] of progress) {
      handledBefore.set(name, p.handled);
      progress.set(name, { ...p, position: p.checkpoint });
    }
    if (ended !== undefined) return;
    // Not even the first catch-up finished: a start-up failure, not something to retry.
    if (!isReady) return end(err);
    // A thread that had been up for a while is started again soon; one that keeps dying, later and later.
    if (performance.now() - startedAt > RESTART_MAX_MS) restartMs = RESTART_MS;
    logger.error({ component: 'projector', why, restartInMs: restartMs }, 'the projector thread stopped; starting it again');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (ended === undefined) start();
    }, restartMs);
    restartMs = Math.min(restartMs * 2, RESTART_MAX_MS);
  };

  const start = (): void => {
    let w: Worker;
    startedAt = performance.now();
    logger.debug({ component: 'projector' }, 'starting the projector thread');
    try {
      w = startWorker(ENTRY, { store: options.storeOptions, stateConnection: options.stateConnection, projections: files, tuning, epochs }, { execArgv: [] });
    } catch (err) {
      logger.error({ component: 'projector', err: String(err) }, 'cannot start the projector thread');
      return lost('it could not be started');
    }
    worker = w;
    // Like the in-process projector (its subscription's poll timer), the thread keeps the
    // process alive until `stop()`. Only the current thread is heard: one given up on may
    // still report on its way out, and its positions are not ours any more.
    w.on('message', (r: ProjectorReport) => {
      if (worker === w || r.kind === 'log') onReport(r);
    });
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
    for (const p of pending.values()) {
      if (p.sent) continue;
      p.sent = true;
      w.postMessage(p.call);
    }
  };

  const call = (body: CallBody): Promise<unknown> => {
    if (ended !== undefined) return Promise.reject(ended);
    const c = { ...body, id: nextId++, kind: 'call' } as Call;
    return new Promise((resolve, reject) => {
      // No caller waits longer than this for a thread that is being started again or is stuck.
      const timeoutMs = body.op === 'rebuild' ? REBUILD_TIMEOUT_MS : CALL_TIMEOUT_MS;
      const timer = setTimeout(
        () => settle(c.id, { ok: false, error: new EngineError(ErrorCode.STORE_UNAVAILABLE, `The projector thread did not answer within ${timeoutMs} ms`) }),
        timeoutMs,
      );
      pending.set(c.id, { call: c, sent: worker !== undefined, resolve, reject, timer });
      worker?.postMessage(c);
    });
  };

  const waitFor = (position: Parameters<Projector['waitFor']>[0], timeoutMs: number, which: string[] = names): Promise<void> => {
    for (const n of which) check(n);
    if (ended !== undefined) return Promise.reject(ended);
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
      const epoch = ++epochs[name]!;
      progress.set(name, { ...progress.get(name)!, position: null, checkpoint: null, handled: 0 });
      handledBefore.set(name, 0);
      await call({ op: 'rebuild', name, epoch });
    },
    async killThread() {
      await worker?.terminate();
    },
    async stop() {
      if (ended !== undefined && worker === undefined) return; // stopped, or failed to start
      const closed = new EngineError(ErrorCode.STORE_CLOSED, 'The projector stopped');
      const w = worker;
      worker = undefined;
      // Nothing more goes to the thread or waits for it, but the stop itself.
      end(closed);
      if (w === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      const stopped = new Promise<void>((resolve) => {
        const id = nextId++;
        const onReply = (r: ProjectorReport): void => {
          if (r.kind !== 'reply' || r.id !== id) return;
          if (!r.ok) logger.warn({ component: 'projector', err: fromWireError(r.error).message }, 'the projector thread did not stop cleanly');
          resolve();
        };
        w.on('message', onReply);
        w.once('exit', () => resolve());
        timer = setTimeout(() => {
          logger.warn({ component: 'projector', timeoutMs: STOP_TIMEOUT_MS }, 'the projector thread did not stop in time; ending it');
          resolve();
        }, STOP_TIMEOUT_MS);
        w.postMessage({ kind: 'call', id, op: 'stop' } satisfies Call);
      });
      await stopped;
      clearTimeout(timer);
      await w.terminate();
    },
  };
}

/**
 * The projector `flowctl serve` runs: on a thread of its own ({@link startProjectorThread})
 * over a SQLite file log with its states in SQLite (`connection` names both, as
 * `openProjectionState` does); in-process over anything else (memory stores, EventStoreDB).
 */
export function startServeProjector(o: { store: EventStore; connection: string; stateStore: ProjectionStateStore; logger: Logger }): Projector {
  const onFile = o.store instanceof SqliteEventStore && fileOf(o.store) !== undefined && o.stateStore.path !== undefined && o.connection.startsWith('sqlite:');
  if (!onFile) return startProjector({ store: o.store, stateStore: o.stateStore, logger: o.logger });
  return startProjectorThread({
    store: o.store as SqliteEventStore,
    storeOptions: parseSqliteConnectionString(o.connection),
    stateStore: o.stateStore,
    stateConnection: o.connection,
    logger: o.logger,
  });
}
