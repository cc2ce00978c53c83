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

function reply(id: number, run: () => Promise<unknown>): void {
  run().then(
    (value) => port.postMessage({ id, ok: true, value } satisfies WriterReply),
    (err: unknown) => port.postMessage({ id, ok: false, error: toWireError(err) } satisfies WriterReply),
  );
}

port.on('message', (msg: WriterRequest) => {
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
    port.postMessage({ id: msg.id, ok: false, error } satisfies WriterReply);
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
});
