/**
 * Entry of the writer thread (see `writerThread.ts`): one inline writer per store handle, each
 * on a connection of its own, driven by messages. Messages that arrive together are run in one
 * group commit, exactly as appends made in one event-loop turn are by an inline writer.
 */
import { parentPort } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './openDatabase.js';
import { createInlineWriter, type SqliteWriter } from './sqliteWriter.js';
import { toWireError, type WireError, type WriterReply, type WriterRequest } from './writerWire.js';

const port = parentPort!;
type Handle = { writer: SqliteWriter; db: Database } | { failed: WireError };
const handles = new Map<number, Handle>();

/** Replies settled in one turn (typically one group commit's) go back as one message. */
let outbox: WriterReply[] = [];
const send = (): void => {
  const batch = outbox;
  outbox = [];
  port.postMessage(batch);
};
function answer(r: WriterReply): void {
  if (outbox.push(r) === 1) setImmediate(send);
}

function reply(id: number, run: () => Promise<unknown>): void {
  run().then(
    (value) => answer({ id, ok: true, value }),
    (err: unknown) => answer({ id, ok: false, error: toWireError(err) }),
  );
}

// Every request of a batch is handed to its writer before the group commit's flush (scheduled
// with setImmediate) runs: the batch shares one transaction.
port.on('message', (batch: WriterRequest[]) => {
  for (const msg of batch) dispatch(msg);
});

function dispatch(msg: WriterRequest): void {
  if (msg.op === 'open') {
    try {
      const db = openDatabase(msg.options);
      handles.set(msg.handle, { db, writer: createInlineWriter(db, () => {}) });
    } catch (err) {
      handles.set(msg.handle, { failed: toWireError(err) });
    }
    return;
  }
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
    case 'close':
      handles.delete(msg.handle);
      return reply(msg.id, async () => {
        await handle.writer.close();
        handle.db.close();
      });
  }
}
