import type { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { EngineError, ErrorCode } from '../../errors.js';
import { siblingEntry, startWorker } from '../../workerBoot.js';
import type { AppendResult } from '../types.js';
import { groupCommitFor } from './groupCommit.js';
import { isBusy, withBusyTimeout } from './busy.js';
import { DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from './sqliteOptions.js';
import type { SqliteWriter } from './sqliteWriter.js';
import { fromWireError, writerStopped, type WriterReply, type WriterRequest } from './writerWire.js';

const ENTRY = siblingEntry('writerWorker', import.meta.url);

type Pending = { resolve: (value: unknown) => void; reject: (err: unknown) => void };

/** One worker thread per process, shared by every file store of the process. */
class WriterThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #stopped: unknown;
  /** Requests of this event-loop turn, sent as one message (one clone, one wake-up). */
  #outbox: WriterRequest[] = [];
  #sendLater: NodeJS.Immediate | undefined;

  constructor() {
    this.#worker = startWorker(ENTRY, {}, { execArgv: [] });
    this.#worker.on('message', (replies: WriterReply[]) => {
      for (const reply of replies) {
        const p = this.#pending.get(reply.id);
        if (p === undefined) continue;
        this.#untrack(reply.id);
        if (reply.ok) p.resolve(reply.value);
        else p.reject(fromWireError(reply.error));
      }
    });
    this.#worker.on('error', (err) => this.#stop(err));
    // A reply that cannot be read back leaves its caller with no answer: treat as a dead thread.
    this.#worker.on('messageerror', (err) => {
      this.#stop(err);
      void this.#worker.terminate();
    });
    this.#worker.on('exit', (code) => this.#stop(new Error(`writer thread exited with code ${code}`)));
    // Idle, it must not keep the process alive; a write in flight does (see #track). After the
    // listeners: adding a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  /** Sends what is waiting now instead of at the end of the turn. */
  sendNow(): void {
    if (this.#outbox.length > 0) this.#send();
  }

  post(msg: WriterRequest): void {
    this.#outbox.push(msg);
    this.#sendLater ??= setImmediate(this.#send);
  }

  request(build: (id: number) => WriterRequest): Promise<unknown> {
    if (this.#stopped !== undefined) return Promise.reject(writerStopped(this.#stopped));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.post(build(id));
    });
  }

  readonly #send = (): void => {
    // Sent now by sendNow(): the end-of-turn send is not needed any more.
    if (this.#sendLater !== undefined) clearImmediate(this.#sendLater);
    this.#sendLater = undefined;
    const batch = this.#outbox;
    this.#outbox = [];
    if (batch.length === 0) return;
    if (this.#stopped !== undefined) return;
    try {
      this.#worker.postMessage(batch);
    } catch (err) {
      // Not reachable with prepared parts (plain strings and numbers); never leave callers hanging.
      for (const msg of batch) {
        if (!('id' in msg)) continue;
        const p = this.#pending.get(msg.id);
        this.#untrack(msg.id);
        p?.reject(new EngineError(ErrorCode.STORE_UNAVAILABLE, 'Writes could not be handed to the writer thread', { cause: err }));
      }
    }
  };

  /** Ends the thread (tests, and a process that wants it gone before exit). */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #untrack(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #stop(cause: unknown): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = cause;
    lastThreadStopAt = performance.now();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(writerStopped(cause));
    if (current === this) current = undefined;
  }
}

/** SQLITE_BUSY from BEGIN (the write lock is taken), as such or as the cause of store_unavailable. */
const refusedAsBusy = (err: unknown): boolean => isBusy(err) || isBusy((err as { cause?: unknown } | null)?.cause);

let current: WriterThread | undefined;
let nextHandle = 1;
/** When a writer thread last stopped, for {@link THREAD_RETRY_MS}. */
let lastThreadStopAt = Number.NEGATIVE_INFINITY;
/** How long after a thread stopped a checkpoint does not start another one. */
const THREAD_RETRY_MS = 5000;
/** How long after writers last contended durable writes keep going to the thread (slow disk). */
const CONTENTION_WINDOW_MS = 200;
/**
 * Durable COMMITs on the caller's connection (WAL frames and fsync) that take longer than this
 * on average (moving average, weight {@link COMMIT_EWMA_WEIGHT}) mark the disk slow
 * (`slowCommitMs` overrides it). On this VM they take 1.3 ms at the median, up to ~12 ms for a
 * turn of 200 callbacks.
 */
const SLOW_COMMIT_MS = 10;
const COMMIT_EWMA_WEIGHT = 0.2;
/**
 * A slow disk shows in a COMMIT's fsync, a fixed cost; its WAL frames grow with its jobs. So a
 * durable COMMIT of more than {@link COMMIT_REFERENCE_JOBS} jobs is judged without
 * {@link JOB_WRITE_MS} for each job beyond them (what a job's frames cost here: a turn of 200
 * completions took 6–14 ms on this VM, growing with the file, its fsync ~1 ms of that).
 * Judged whole, those turns pushed the average over {@link SLOW_COMMIT_MS} after a few seconds
 * of bench/http load, and the slow window's hand-offs then left the loop waiting (utilisation
 * 0.82–0.93, callback p99 up ~40%); a slow fsync still counts in full.
 */
const COMMIT_REFERENCE_JOBS = 20;
const JOB_WRITE_MS = 0.05;

/** The time a durable COMMIT is judged by (see {@link COMMIT_REFERENCE_JOBS}). */
export const judgedCommitMs = (commitMs: number, jobs: number): number =>
  Math.max(0, commitMs - JOB_WRITE_MS * Math.max(0, jobs - COMMIT_REFERENCE_JOBS));
/** How long a slow disk keeps contended durable writes on the thread; doubles while slow. */
const SLOW_WINDOW_MS = 1000;
const SLOW_WINDOW_MAX_MS = 30_000;
/**
 * WAL pages between two checkpoints asked of the thread: SQLite's own cadence. Counted as the
 * jobs committed times {@link PAGES_PER_JOB}: a job's pages vary far less than a commit's (from
 * ~4 for a lone append to ~400 for a turn of 270 jobs under bench/http), and SQLite reports no
 * pages written (the WAL starts over whenever a checkpoint has copied it all, so its length
 * cannot be used to count them). Counted by commits (the pages per commit learnt at warm-up,
 * ~7), the thread was asked once every ~10 s of bench/http load while the WAL grew by ~8,000
 * pages a second, and the connection's own checkpoints did the copying on the event loop.
 */
const CHECKPOINT_PAGES = 1000;
/** WAL pages a job writes, for {@link CHECKPOINT_PAGES}: 1.3–2.0 measured under bench/http. */
const PAGES_PER_JOB = 2;
/**
 * How long writers must have been alone before checkpoints go back to the caller's
 * connection. Longer than {@link CONTENTION_WINDOW_MS}: under steady load durable writes come
 * in waves 100–300 ms apart, and each switch back set the connection's own threshold to
 * {@link LONE_CHECKPOINT_PAGES}, so its next commit copied the whole WAL on the event loop
 * (measured under bench/http: ~4,000 pages every ~0.7 s, a 50–100 ms stall each).
 */
const CHECKPOINT_ALONE_MS = 2000;
/**
 * WAL pages past which the caller's connection checkpoints by itself while the thread does it
 * (a safety net for a thread that cannot run), and while writers are alone (SQLite's default).
 */
const INLINE_CHECKPOINT_PAGES = 10_000;
const LONE_CHECKPOINT_PAGES = 1000;

function writerThread(): WriterThread {
  if (current === undefined || current.stopped) current = new WriterThread();
  return current;
}

/**
 * Stops this process's writer thread. Writes in flight fail with `store_unavailable` (outcome
 * unknown); the next write starts a new thread, and every open store reopens its connection
 * there. For tests of that recovery.
 */
export async function stopWriterThread(): Promise<void> {
  const thread = current;
  current = undefined;
  await thread?.terminate();
  // Stopped on purpose: checkpoints may start the next thread at once.
  lastThreadStopAt = Number.NEGATIVE_INFINITY;
}

/** The caller's own connection and its inline writer: turns that commit on the event loop. */
export interface InlineSide {
  db: Database;
  writer: SqliteWriter;
}

/** A write as the thread would be asked for it; `id` stays 0 until it is sent there. */
type WriteRequest = Extract<WriterRequest, { op: 'append' | 'putDataKey' | 'destroyDataKey' }>;

/**
 * A write waiting for its turn: data, not closures (a write allocated two closures, under
 * tsx each also named by a property write, several writes a flow).
 */
interface Queued {
  durable: boolean;
  request: WriteRequest;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Runs a queued write on the caller's connection. */
function runInline(w: SqliteWriter, r: WriteRequest): Promise<unknown> {
  switch (r.op) {
    case 'append':
      // The inline writer wakes subscriptions itself.
      return w.append(r.parts, r.durability);
    case 'putDataKey':
      return w.putDataKey(r.keyId, r.wrapped, r.durability);
    case 'destroyDataKey':
      return w.destroyDataKey(r.keyId, r.scrub);
  }
}

/**
 * A writer that commits on the caller's connection while the disk is fast, and hands durable
 * writes of contending writers to the process's writer thread (a connection of its own) while
 * it is slow, so that a slow fsync does not freeze the event loop. Results and errors come
 * back as they would from an inline writer (`WrongExpectedVersionError` stays one); `onCommitted` runs
 * before an append's caller is answered, so a subscription of the store is woken in the same
 * tick as the appender.
 *
 * Writes of one event-loop turn are decided together, in one transaction either way, and
 * commit inline on the caller's connection (`inline`) only while the thread has nothing in
 * flight: its connection then holds no write lock to wait for, and writes commit in the order
 * they were made. While the disk is fast, a turn that finds the thread busy (with a turn
 * refused as busy, or a slow window's) waits for it and then commits inline: sending it there
 * too kept every later turn of a steady load on the thread. While the disk is fast (durable inline COMMITs, WAL frames and fsync, under
 * {@link SLOW_COMMIT_MS} on average) every such turn commits inline: measured with bench/http
 * on this VM (200 browsers, durable COMMITs 1.3 ms at the median), that gave ~10% more
 * flows/s and a lower callback p99 than handing contended turns to the thread, whose message
 * round trips cost the loop more than the fsyncs they spared it. A slow average marks the
 * disk slow for {@link SLOW_WINDOW_MS}; the first durable inline commit after a window (a
 * probe) is judged on its own time, and a slow one starts a window twice as long (up to
 * {@link SLOW_WINDOW_MAX_MS}), a fast one ends them. Then a turn
 * commits inline only if none of its writes must be durable (a commit without fsync takes tens
 * of µs, less than waking another thread: 0.3–1 ms here) or writers have not contended for
 * {@link CONTENTION_WINDOW_MS} (one caller at a time: its fsync delays nobody, and a lone
 * writer would pay the thread's wake-up on every write). Otherwise the whole turn goes to the
 * thread, in one message, where fsyncs of contending writers overlap and spare the loop.
 *
 * While writers contend, and for {@link CHECKPOINT_ALONE_MS} after, the event store's
 * checkpoints run on the thread: copying the WAL into the file and its fsync took up to 20 ms
 * on the loop, where ~200 requests waited for them. (A lone writer's connection checkpoints by
 * itself, at SQLite's 1000 pages: on the thread, concurrent with its fsyncs, they cost
 * sequential appends ~10%.) About every {@link CHECKPOINT_PAGES} WAL pages of the caller's
 * connection (estimated from the jobs committed) the thread runs a PASSIVE one, which inline
 * commits do not wait for, and a RESTART of at most 25 ms when the WAL has kept growing
 * (`walCheckpoint.ts`); the caller's connection checkpoints by itself only past
 * {@link INLINE_CHECKPOINT_PAGES}. The thread's own connection checkpoints as usual.
 *
 * Costs: a message each way per turn that reaches the thread, and a thread start the first
 * time one does or a checkpoint is asked for (a few hundred ms under tsx).
 */
export function createThreadWriter(options: SqliteStoreOptions, onCommitted: () => void, inline: InlineSide): SqliteWriter {
  // The connection's busy timeout, restored after each inline attempt.
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const handle = nextHandle++;
  let thread: WriterThread | undefined;
  let closed = false;
  let queue: Queued[] = [];

  const threadFor = (): WriterThread => {
    const t = writerThread();
    if (t !== thread) {
      thread = t;
      t.post({ op: 'open', handle, options });
    }
    return t;
  };

  const slowCommitMs = options.slowCommitMs ?? SLOW_COMMIT_MS;
  /** Jobs committed since the thread was last asked to checkpoint. */
  let jobsSinceCheckpoint = 0;
  let checkpointing = false;
  // Who checkpoints (see above): the connection itself while writers are alone, the thread
  // from their first contention until CHECKPOINT_ALONE_MS after their last. Switched only
  // when that changes.
  let checkpointsOnThread = false;
  const placeCheckpoints = (onThread: boolean): void => {
    if (onThread === checkpointsOnThread || closed) return;
    checkpointsOnThread = onThread;
    jobsSinceCheckpoint = 0;
    inline.db.pragma(`wal_autocheckpoint = ${onThread ? INLINE_CHECKPOINT_PAGES : LONE_CHECKPOINT_PAGES}`);
  };
  let commitMsAverage: number | undefined;
  let slowUntil = -Infinity;
  let slowWindowMs = SLOW_WINDOW_MS;
  groupCommitFor(inline.db).onCommitted(({ durable, commitMs: total, jobs }) => {
    const now = performance.now();
    const commitMs = judgedCommitMs(total, jobs);
    if (durable) {
      // The first commit after a window (a probe) is judged on its own: during the window
      // contended turns went to the thread, and the average learned nothing.
      const probe = slowUntil !== -Infinity && now >= slowUntil;
      commitMsAverage = commitMsAverage === undefined || probe ? commitMs : commitMsAverage + COMMIT_EWMA_WEIGHT * (commitMs - commitMsAverage);
      if (commitMsAverage <= slowCommitMs) {
        slowUntil = -Infinity;
        slowWindowMs = SLOW_WINDOW_MS;
      } else if (now >= slowUntil) {
        slowUntil = now + slowWindowMs;
        slowWindowMs = Math.min(slowWindowMs * 2, SLOW_WINDOW_MAX_MS);
      }
    }
    if (!checkpointsOnThread) return;
    jobsSinceCheckpoint += jobs;
    // A thread that stopped lately (it failed to start, or died) is not started again for
    // every checkpoint: the connection's own checkpoint is the safety net meanwhile.
    if (jobsSinceCheckpoint * PAGES_PER_JOB < CHECKPOINT_PAGES || checkpointing || closed || now - lastThreadStopAt <= THREAD_RETRY_MS) return;
    jobsSinceCheckpoint = 0;
    checkpointing = true;
    let asked: Promise<unknown>;
    try {
      asked = threadFor().request((id) => ({ op: 'checkpoint', id, handle }));
    } catch (err) {
      lastThreadStopAt = now;
      asked = Promise.reject(err);
    }
    // Its outcome needs no answer: a RESTART that gave up backs off on the thread.
    asked.catch(() => undefined).finally(() => {
      checkpointing = false;
    });
  });

  let contendedAt = -Infinity;
  /** This store's requests on the thread, not yet answered. */
  let inFlight = 0;
  /** A turn waiting for them (see below), and its deadline. */
  let whenThreadDone: (() => void) | undefined;
  let waitDeadline: NodeJS.Timeout | undefined;
  const stopWaiting = (): void => {
    whenThreadDone = undefined;
    if (waitDeadline !== undefined) clearTimeout(waitDeadline);
    waitDeadline = undefined;
  };
  /** `noWait` (closing, or the wait ran out): a turn that finds the thread busy goes there. */
  const flush = (noWait = false): void => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const now = performance.now();
    // Only this store's writes count: another store's are on another connection (another file,
    // or the same one, whose lock the busy refusal covers).
    const idle = inFlight === 0;
    const durable = batch.filter((q) => q.durable).length;
    // Writers contend: durable writes of several callers in one turn, or one while the thread
    // is busy.
    if (durable > 1 || (durable > 0 && !idle)) contendedAt = now;
    const alone = now - contendedAt > CONTENTION_WINDOW_MS;
    placeCheckpoints(now - contendedAt <= CHECKPOINT_ALONE_MS);
    const fastDisk = slowCommitMs > 0 && now >= slowUntil;
    if (fastDisk && !idle && !noWait) {
      // The thread still has writes of an earlier turn (refused as busy here): this turn waits
      // for them, then commits inline, so writes keep their order and the thread its turn. If
      // they take longer than the contention window, the turn goes behind them on the thread.
      queue = batch.concat(queue);
      if (whenThreadDone === undefined) {
        whenThreadDone = () => {
          stopWaiting();
          flush();
        };
        waitDeadline = setTimeout(() => {
          stopWaiting();
          flush(true);
        }, CONTENTION_WINDOW_MS);
        waitDeadline.unref?.();
      }
      return;
    }
    if (idle && (fastDisk || durable === 0 || alone)) {
      commitInline(inline, batch);
      return;
    }
    toThread(batch);
  };

  const toThread = (batch: Queued[]): void => {
    let t: WriterThread;
    try {
      t = threadFor();
    } catch (err) {
      lastThreadStopAt = performance.now();
      const failure = new EngineError(ErrorCode.STORE_UNAVAILABLE, 'The SQLite writer thread could not start; nothing was written', { cause: err });
      for (const q of batch) q.reject(failure);
      return;
    }
    for (const q of batch) {
      inFlight++;
      t.request((id) => ((q.request.id = id), q.request))
        .then(q.resolve, q.reject)
        .finally(() => {
          if (--inFlight === 0 && whenThreadDone !== undefined) setImmediate(whenThreadDone);
        });
    }
    t.sendNow();
  };

  /**
   * Commits the turn on the caller's connection without waiting for a lock: another thread of
   * this process (a catch-up worker, the projector's state commits) or another process may hold
   * the write lock, and a busy wait here would stall the event loop. A turn refused as busy
   * wrote nothing and goes to the thread, which may wait.
   */
  /** The last inline turn, settled once its writes are answered or handed to the thread. */
  let lastInline: Promise<void> = Promise.resolve();
  const commitInline = (side: InlineSide, batch: Queued[]): void => {
    const busyRefused: Queued[] = [];
    let pending = batch.length;
    let done!: () => void;
    lastInline = new Promise((resolve) => (done = resolve));
    const settled = (): void => {
      if (--pending > 0) return;
      if (busyRefused.length > 0) toThread(busyRefused);
      done();
    };
    for (const q of batch) {
      let attempt: Promise<unknown>;
      try {
        attempt = runInline(side.writer, q.request);
      } catch (err) {
        attempt = Promise.reject(err);
      }
      attempt.then(
        (value) => (q.resolve(value), settled()),
        (err: unknown) => {
          if (refusedAsBusy(err)) busyRefused.push(q);
          else q.reject(err);
          settled();
        },
      );
    }
    withBusyTimeout(side.db, 0, busyTimeoutMs, () => groupCommitFor(side.db).flush());
  };

  const enqueue = (durable: boolean, request: WriteRequest): Promise<unknown> => {
    if (closed) return Promise.reject(new EngineError(ErrorCode.STORE_CLOSED, 'The event store is closed'));
    // Built field by field: a spread of the write here took ~2.5 µs a write under bench/http
    // (inspector profile), 5–8% of the engine's callback handling.
    return new Promise((resolve, reject) => {
      if (queue.push({ durable, request, resolve, reject }) === 1) setImmediate(flush);
    });
  };

  return {
    async append(parts, durability) {
      const request: WriteRequest = { op: 'append', id: 0, handle, parts, durability };
      const results = (await enqueue(durability !== 'deferred', request)) as AppendResult[];
      // Written by the thread's connection: nobody on this one has woken the subscriptions.
      if (request.id !== 0) onCommitted();
      return results;
    },
    putDataKey: async (keyId, wrapped, durability) =>
      (await enqueue(durability !== 'deferred', { op: 'putDataKey', id: 0, handle, keyId, wrapped, durability })) as boolean,
    // A shred must survive a power cut; a discarded key protected nothing.
    destroyDataKey: async (keyId, scrub) => (await enqueue(scrub, { op: 'destroyDataKey', id: 0, handle, keyId, scrub })) as boolean,
    async close() {
      if (closed) return;
      flush(true);
      // A turn refused as busy reaches the thread a few microtasks later: before its close.
      await lastInline;
      closed = true;
      stopWaiting();
      await inline.writer.close();
      const t = thread;
      // Never opened there: nothing to commit or close.
      if (t === undefined || t.stopped) return;
      await t.request((id) => ({ op: 'close', id, handle })).catch(() => undefined);
    },
  };
}
