import { Worker } from 'node:worker_threads';
import { EngineError, ErrorCode } from '../../errors.js';
import type { AppendResult } from '../types.js';
import type { SqliteStoreOptions } from './sqliteOptions.js';
import type { SqliteWriter } from './sqliteWriter.js';
import { fromWireError, writerStopped, type WriterReply, type WriterRequest } from './writerWire.js';

/**
 * Loads the entry in the worker. Under tsx (no build step) the worker must register tsx's
 * loader itself: Node 20 does not apply the parent's `--import tsx` to a worker's entry.
 */
const BOOT = `
const { workerData } = require('node:worker_threads');
(workerData.entry.endsWith('.ts') ? import('tsx/esm/api').then((tsx) => tsx.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((err) => process.nextTick(() => { throw err; }));`;

const ENTRY = new URL(`./writerWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

type Pending = { resolve: (value: unknown) => void; reject: (err: unknown) => void };

/** One worker thread per process, shared by every file store of the process. */
class WriterThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #stopped: unknown;
  /** Requests of this event-loop turn, sent as one message (one clone, one wake-up). */
  #outbox: WriterRequest[] = [];

  constructor() {
    this.#worker = new Worker(BOOT, { eval: true, workerData: { entry: ENTRY }, execArgv: [] });
    // Idle, it must not keep the process alive; a write in flight does (see #track).
    this.#worker.unref();
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
    this.#worker.on('exit', (code) => this.#stop(new Error(`writer thread exited with code ${code}`)));
  }

  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  post(msg: WriterRequest): void {
    if (this.#outbox.push(msg) === 1) setImmediate(this.#send);
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
    const batch = this.#outbox;
    this.#outbox = [];
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
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(writerStopped(cause));
    if (current === this) current = undefined;
  }
}

let current: WriterThread | undefined;
let nextHandle = 1;

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
}

/**
 * A writer whose statements and fsyncs run on the process's writer thread, on a connection of
 * that thread. Results and errors come back as they would from an inline writer
 * (`WrongExpectedVersionError` stays one). A store's requests are answered in the order the
 * thread commits them; `onCommitted` runs before an append's caller is answered, so a
 * subscription of the store is woken in the same tick as the appender.
 *
 * Costs: a message each way per write (tens of µs, paid on the caller's latency), and a thread
 * start the first time a process writes (a few hundred ms under tsx).
 */
export function createThreadWriter(options: SqliteStoreOptions, onCommitted: () => void): SqliteWriter {
  const handle = nextHandle++;
  let thread: WriterThread | undefined;
  let closed = false;

  const request = (build: (id: number) => WriterRequest): Promise<unknown> => {
    if (closed) return Promise.reject(new EngineError(ErrorCode.STORE_CLOSED, 'The event store is closed'));
    const t = writerThread();
    if (t !== thread) {
      thread = t;
      t.post({ op: 'open', handle, options });
    }
    return t.request(build);
  };

  return {
    async append(parts, durability) {
      const results = (await request((id) => ({ op: 'append', id, handle, parts, durability }))) as AppendResult[];
      onCommitted();
      return results;
    },
    putDataKey: async (keyId, wrapped, durability) =>
      (await request((id) => ({ op: 'putDataKey', id, handle, keyId, wrapped, durability }))) as boolean,
    destroyDataKey: async (keyId, scrub) => (await request((id) => ({ op: 'destroyDataKey', id, handle, keyId, scrub }))) as boolean,
    async close() {
      if (closed) return;
      const t = thread;
      closed = true;
      // Never opened there: nothing to commit or close.
      if (t === undefined || t.stopped) return;
      await t.request((id) => ({ op: 'close', id, handle })).catch(() => undefined);
    },
  };
}
