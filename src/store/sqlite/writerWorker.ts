/**
 * Entry of the writer thread (see `writerThread.ts`): one inline writer per store handle, each
 * on a connection of its own, driven by messages. Messages that arrive together are run in one
 * group commit, exactly as appends made in one event-loop turn are by an inline writer.
 */
import { parentPort } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './openDatabase.js';
import { DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from './sqliteOptions.js';
import { createWalCheckpointer, type CheckpointOutcome } from './walCheckpoint.js';
import { createInlineWriter, type SqliteWriter } from './sqliteWriter.js';
import { toWireError, type WireError, type WriterReply, type WriterRequest } from './writerWire.js';

const port = parentPort!;
type Handle = { writer: SqliteWriter; db: Database; checkpoint: () => CheckpointOutcome } | { failed: WireError; options: SqliteStoreOptions };
const handles = new Map<number, Handle>();

/** Replies settled in one turn (typically one group commit's) go back as one message. */
let outbox: WriterReply[] = [];
const send = (): void => {
  const batch = outbox;
  outbox = [];
  if (batch.length > 0) port.postMessage(batch);
};
function answer(r: WriterReply): void {
  if (outbox.push(r) === 1) setImmediate(send);
}

function reply(id: number, run: () => Promise<unknown>): void {
  // A synchronous throw becomes this request's failure, not the thread's.
  Promise.resolve().then(run).then(
    (value) => answer({ id, ok: true, value }),
    (err: unknown) => answer({ id, ok: false, error: toWireError(err) }),
  );
}

// Every request of a batch is handed to its writer before the group commit's flush (scheduled
// with setImmediate) runs: the batch shares one transaction.
port.on('message', (batch: WriterRequest[]) => {
  for (const msg of batch) dispatch(msg);
});

function open(id: number, options: SqliteStoreOptions): void {
  try {
    const db = openDatabase(options);
    handles.set(id, { db, writer: createInlineWriter(db, () => {}), checkpoint: createWalCheckpointer(db, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS) });
  } catch (err) {
    handles.set(id, { failed: toWireError(err), options });
  }
}

function dispatch(msg: WriterRequest): void {
  if (msg.op === 'open') return open(msg.handle, msg.options);
  // An open that failed (a busy file, too many open files) is tried again by the next request.
  const failed = handles.get(msg.handle);
  if (failed !== undefined && 'failed' in failed) open(msg.handle, failed.options);
  const handle = handles.get(msg.handle);
  if (handle === undefined || 'failed' in handle) {
    const error = handle?.failed ?? toWireError(new Error(`no open store handle ${msg.handle}`));
    answer({ id: msg.id, ok: false, error });
    return;
  }
  switch (msg.op) {
    case 'append':
      return reply(msg.id, () => handle.writer.append(msg.parts, msg.durability));
    case 'putDataKey':
      return reply(msg.id, () => handle.writer.putDataKey(msg.keyId, msg.wrapped, msg.durability));
    case 'destroyDataKey':
      return reply(msg.id, () => handle.writer.destroyDataKey(msg.keyId, msg.scrub));
    case 'checkpoint':
      // Replies of writes already committed go first: a checkpoint may take a while.
      if (outbox.length > 0) send();
      return reply(msg.id, async () => handle.checkpoint());
    case 'close':
      handles.delete(msg.handle);
      return reply(msg.id, async () => {
        await handle.writer.close();
        handle.db.close();
      });
  }
}
