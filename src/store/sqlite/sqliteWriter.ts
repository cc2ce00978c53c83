import type { Database } from 'better-sqlite3';
import { dataKeyWrites, type DataKeyWrites } from '../dataKeys/dataKeyTable.js';
import type { AppendResult, Durability } from '../types.js';
import { createGroupAppender } from './appendBatch.js';
import type { AppendPart } from './prepareBatch.js';
import { prepareStatements, type Statements } from './statements.js';

/**
 * Everything the embedded store writes to its file: event appends and data-key changes, one
 * group commit for both. Two implementations: {@link createInlineWriter} on a connection of the
 * calling thread, and the thread writer (`writerThread.ts`), which commits inline while the
 * disk is fast and otherwise hands contending writers' durable turns to the writer thread (an
 * inline writer on a connection of its own), so that slow fsyncs leave the event loop.
 */
export interface SqliteWriter {
  append(parts: AppendPart[], durability?: Durability): Promise<AppendResult[]>;
  /** Resolves whether the key was stored (false: the id is taken, by a key or a tombstone). */
  putDataKey(keyId: string, wrapped: string, durability?: Durability): Promise<boolean>;
  destroyDataKey(keyId: string, scrub: boolean): Promise<boolean>;
  /** Commits what was accepted before it (inline: synchronously, before returning). */
  close(): Promise<void>;
}

/**
 * A writer on `db`, in the calling thread. `onCommitted` runs after each commit that wrote
 * events, before the appenders are answered (subscriptions are woken in the same tick).
 */
export function createInlineWriter(
  db: Database,
  onCommitted: () => void,
  st: Pick<Statements, 'streamHead' | 'insert' | 'eventById'> = prepareStatements(db),
): SqliteWriter {
  const appender = createGroupAppender(db, st, onCommitted);
  // The data-key table is created on the first key write, not in every event store file.
  let keys: DataKeyWrites | undefined;
  const keyWrites = () => (keys ??= dataKeyWrites(db));
  return {
    append: (parts, durability) => appender.append(parts, durability),
    putDataKey: (keyId, wrapped, durability) => keyWrites().put(keyId, wrapped, durability),
    destroyDataKey: (keyId, scrub) => keyWrites().destroy(keyId, scrub),
    close() {
      appender.flush();
      return Promise.resolve();
    },
  };
}
