import type { Database } from 'better-sqlite3';
import { EngineError, ErrorCode } from '../../errors.js';
import { StreamNotFoundError } from '../errors.js';
import type {
  AppendManyOptions,
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
} from '../types.js';
import { ChangeWatcher } from './changeWatcher.js';
import { schemaVersion } from './migrations.js';
import { openDatabase } from './openDatabase.js';
import { prepareAppend, prepareAppends } from './prepareBatch.js';
import { PagedReader } from './pagedReader.js';
import { DEFAULT_POLL_INTERVAL_MS, MEMORY_PATH, type SqliteStoreOptions } from './sqliteOptions.js';
import { SqliteSubscription, type SubscriptionSource } from './sqliteSubscription.js';
import { prepareStatements, ROW, type Statements } from './statements.js';
import { compileFilter } from './subscriptionFilter.js';
import { createInlineWriter, type SqliteWriter } from './sqliteWriter.js';
import { createThreadWriter } from './writerThread.js';
import { toPosition } from './toRecordedEvent.js';
import { normaliseMaxCount, validateStreamName } from './validateInput.js';

const TOP = Number.MAX_SAFE_INTEGER;

/** What the connection actually runs with, read back from SQLite (for tests and `flowctl`). */
export interface SqliteSettings {
  journalMode: string;
  synchronous: 'off' | 'normal' | 'full' | 'extra';
  schemaVersion: number;
  busyTimeoutMs: number;
}

function positionNumber(position: Position | undefined): number {
  if (position === undefined || typeof position.commit !== 'bigint') {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'fromPosition must be "start", "end" or a {commit, prepare} position');
  }
  return Number(position.commit);
}

function revisionNumber(revision: bigint): number {
  if (typeof revision !== 'bigint' || revision < 0n) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'fromRevision must be "start", "end" or a bigint >= 0');
  }
  return revision > BigInt(TOP) ? TOP : Number(revision);
}

/**
 * The embedded event store: one better-sqlite3 connection per instance, safe to share between
 * processes on one file. Every method is synchronous underneath (SQLite answers in microseconds;
 * an append waits for its fsync) and wrapped in promises to honour the port.
 */
export class SqliteEventStore implements EventStore {
  readonly #db: Database;
  readonly #st: Statements;
  readonly #writer: SqliteWriter;
  readonly #watcher: ChangeWatcher;
  readonly #subscriptions = new Set<SqliteSubscription>();
  readonly #source: SubscriptionSource;
  readonly #path: string;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path;
    this.#db = openDatabase(options);
    this.#st = prepareStatements(this.#db);
    const dataVersion = this.#st.dataVersion;
    const watcher = new ChangeWatcher(
      options.path === MEMORY_PATH ? undefined : () => dataVersion.get()!,
      options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    );
    this.#watcher = watcher;
    const notify = () => watcher.notify();
    const inline = createInlineWriter(this.#db, notify, this.#st);
    this.#writer =
      options.path === MEMORY_PATH || options.writer === 'inline'
        ? inline
        : createThreadWriter(options, notify, { db: this.#db, writer: inline });
    this.#source = {
      readAfter: (after, limit) => this.#open().allForwards.all(after + 1, limit),
      watcher: this.#watcher,
      release: (sub) => this.#subscriptions.delete(sub),
    };
  }

  async appendToStream(
    streamId: string,
    events: EventData | EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.#open();
    const [result] = await this.#writer.append([prepareAppend({ streamId, events, ...options })], options.durability);
    return result!;
  }

  /** All parts in one transaction: all or nothing (see {@link EventStore.appendToStreams}). */
  async appendToStreams(parts: StreamAppend[], options: AppendManyOptions = {}): Promise<AppendResult[]> {
    this.#open();
    return this.#writer.append(prepareAppends(parts), options.durability);
  }

  readStream<E extends RecordedEvent = RecordedEvent>(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<E> {
    return new PagedReader(() => {
      this.#open();
      validateStreamName(streamId);
      const backwards = options.direction === 'backwards';
      const from = options.fromRevision ?? (backwards ? 'end' : 'start');
      let cursor = from === 'start' ? 0 : from === 'end' ? TOP : revisionNumber(from);
      return {
        maxCount: normaliseMaxCount(options.maxCount),
        readPage: (limit) => {
          const st = this.#open();
          const rows = (backwards ? st.streamBackwards : st.streamForwards).all(streamId, cursor, limit);
          if (rows.length > 0) cursor = rows[rows.length - 1]![ROW.revision] + (backwards ? -1 : 1);
          return rows;
        },
        onEmpty: () => {
          // Read from its first (or last) revision, an empty page already says the stream has
          // no events; from elsewhere it may exist beyond the cursor.
          const whole = (from === 'start' && !backwards) || (from === 'end' && backwards);
          if (whole || this.#open().streamHead.get(streamId) === undefined) throw new StreamNotFoundError(streamId);
        },
      };
    }) as AsyncIterable<RecordedEvent> as AsyncIterable<E>;
  }

  /** Forwards from a position is inclusive, backwards exclusive, as on EventStoreDB's `$all`. */
  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return new PagedReader(() => {
      this.#open();
      const backwards = options.direction === 'backwards';
      const from = options.fromPosition ?? (backwards ? 'end' : 'start');
      const maxCount = normaliseMaxCount(options.maxCount);
      if (from === 'end' && !backwards) return undefined;
      let cursor = from === 'start' ? 0 : from === 'end' ? TOP : positionNumber(from);
      return {
        maxCount,
        readPage: (limit) => {
          const st = this.#open();
          const rows = (backwards ? st.allBackwards : st.allForwards).all(cursor, limit);
          if (rows.length > 0) cursor = rows[rows.length - 1]![ROW.position] + (backwards ? 0 : 1);
          return rows;
        },
      };
    });
  }

  /**
   * Catch-up then live. Live latency: appends made through this store wake the subscription at
   * once (same tick as the commit); appends by other processes or other connections to the file
   * are noticed within `pollIntervalMs` (15 ms default) by an O(1) `PRAGMA data_version` check.
   */
  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    const st = this.#open();
    const filter = compileFilter(options.filter);
    const head = st.headPosition.get() ?? 0;
    const from = options.fromPosition ?? 'start';
    const after = from === 'start' ? 0 : from === 'end' ? head : positionNumber(from);
    const sub = new SqliteSubscription(this.#source, after, head, filter);
    this.#subscriptions.add(sub);
    return sub;
  }

  async headPosition(): Promise<Position | null> {
    const head = this.#open().headPosition.get();
    return head === null || head === undefined ? null : toPosition(head);
  }

  /**
   * Looks for commits by other connections now instead of within `pollIntervalMs`: for a
   * reader told by the writer (another thread or process) that it has just committed.
   */
  checkForChanges(): void {
    this.#watcher.poll();
  }

  /** The file this store writes (`:memory:` for a memory store). */
  get path(): string {
    return this.#path;
  }

  /**
   * The store's read connection and its writer, for other tables of the same file whose writes
   * should commit with the events (the data keys: see `dataKeyStoreOn`). Both close with the
   * store.
   */
  sharedAccess(): { db: Database; writer: SqliteWriter } {
    this.#open();
    return { db: this.#db, writer: this.#writer };
  }

  /** Pragmas as SQLite reports them on this connection. */
  settings(): SqliteSettings {
    this.#open();
    const names = ['off', 'normal', 'full', 'extra'] as const;
    return {
      journalMode: this.#db.pragma('journal_mode', { simple: true }) as string,
      synchronous: names[this.#db.pragma('synchronous', { simple: true }) as number]!,
      schemaVersion: schemaVersion(this.#db),
      busyTimeoutMs: this.#db.pragma('busy_timeout', { simple: true }) as number,
    };
  }

  /** Ends subscriptions (pending reads finish), stops the poll timer, closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Appends already accepted are committed, not dropped.
    await this.#writer.close();
    const closed = new EngineError(ErrorCode.STORE_CLOSED, 'The event store is closed');
    for (const sub of this.#subscriptions) sub.end(closed);
    this.#subscriptions.clear();
    this.#watcher.close();
    this.#db.close();
  }

  #open(): Statements {
    if (this.#closed) throw new EngineError(ErrorCode.STORE_CLOSED, 'The event store is closed');
    return this.#st;
  }
}

/** Opens (creating and migrating if needed) an embedded store. */
export function openSqliteEventStore(options: SqliteStoreOptions): SqliteEventStore {
  return new SqliteEventStore(options);
}
