/**
 * The event-store port. It mirrors `@eventstore/db-client` 6.x (0-based bigint revisions,
 * `expectedRevision`, `WrongExpectedVersionError`, async-iterable reads) so that the
 * EventStoreDB adapter stays thin and the SQLite adapter behaves like the server.
 *
 * Only `src/store/` implements this; everything else depends on the interface.
 */

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export const ANY = 'any' as const;
export const NO_STREAM = 'no_stream' as const;
export const STREAM_EXISTS = 'stream_exists' as const;

export type Direction = 'forwards' | 'backwards';
export const FORWARDS = 'forwards' as const;
export const BACKWARDS = 'backwards' as const;

/** Position in `$all`. SQLite uses commit = prepare = row position. */
export interface Position {
  commit: bigint;
  prepare: bigint;
}
export const START = 'start' as const;
export const END = 'end' as const;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** An event to append. `id` defaults to a random UUID v4. */
export interface EventData<Type extends string = string, Data = unknown, Meta = unknown> {
  id?: string;
  type: Type;
  data: Data;
  metadata?: Meta;
}

export interface RecordedEvent<Type extends string = string, Data = unknown, Meta = unknown> {
  streamId: string;
  id: string;
  revision: bigint;
  position: Position;
  type: Type;
  data: Data;
  metadata: Meta;
  created: Date;
}

/**
 * When an append may be acknowledged. `durable` (default): once it survives power loss.
 * `deferred`: once it is committed and visible to every reader, possibly before it is on disk;
 * the next durable write to the store makes it durable too. A power loss can drop only a
 * suffix of the log (never a deferred write while a later write survives), so `deferred` suits
 * writes whose loss fails closed: a pending flow lost before its callback is refused there
 * and the user starts again. Adapters that cannot tell the two apart (EventStoreDB
 * acknowledges after its own durable write) treat every append as durable.
 * https://www.sqlite.org/wal.html#performance_considerations
 */
export type Durability = 'durable' | 'deferred';

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
  durability?: Durability;
}

/** Options of {@link EventStore.appendToStreams}: the whole call is one write. */
export interface AppendManyOptions {
  durability?: Durability;
}

/** One stream's part of {@link EventStore.appendToStreams}. */
export interface StreamAppend {
  streamId: string;
  events: EventData | EventData[];
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: bigint;
  position: Position;
}

export interface ReadStreamOptions {
  direction?: Direction;
  /** `'start'`, `'end'` or a revision. */
  fromRevision?: typeof START | typeof END | bigint;
  maxCount?: number | bigint;
}

export interface ReadAllOptions {
  direction?: Direction;
  fromPosition?: typeof START | typeof END | Position;
  maxCount?: number | bigint;
}

export interface SubscriptionFilter {
  /** Keep events whose stream id starts with one of these. */
  streamPrefixes?: string[];
  /** Keep events whose type is one of these. */
  eventTypes?: string[];
  /** Keep events whose type starts with one of these. */
  eventTypePrefixes?: string[];
}

export interface SubscribeToAllOptions {
  /** Exclusive: delivery starts after this position. `'start'` = from the beginning. */
  fromPosition?: typeof START | typeof END | Position;
  filter?: SubscriptionFilter;
}

/**
 * A catch-up subscription: an async iterable of events, then live ones.
 * `caughtUp` resolves once every event stored when it started has been delivered.
 */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  readonly caughtUp: Promise<void>;
  unsubscribe(): Promise<void>;
}

/**
 * Optional capability of the iterator a read returns: hand out events it has already fetched
 * synchronously, without a promise and an iterator result each. `undefined` means "none
 * buffered": call `next()`, which fetches more (or ends). Whole-log consumers (replay) use it
 * when present; everything else keeps using `for await`.
 */
export interface BufferedEventIterator extends AsyncIterator<RecordedEvent> {
  nextBuffered(): RecordedEvent | undefined;
}

/** True when `it` offers {@link BufferedEventIterator.nextBuffered}. */
export const isBufferedEventIterator = (it: AsyncIterator<RecordedEvent>): it is BufferedEventIterator =>
  typeof (it as Partial<BufferedEventIterator>).nextBuffered === 'function';

export interface EventStore {
  appendToStream(
    streamId: string,
    events: EventData | EventData[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Appends to several streams in order, each part at its own expected revision, and resolves
   * with one result per part. Every part is validated before anything is written; the first
   * part that fails rejects the call with that part's error and no later part is written.
   *
   * Atomicity is the adapter's, stated as a capability: the embedded store writes all parts in
   * one transaction (all or nothing, one fsync); EventStoreDB has no multi-stream transaction,
   * so its adapter appends the parts one after another and a failure or a crash can leave a
   * committed prefix. Callers must be correct under the weaker guarantee: a committed prefix is
   * exactly what the same appends made one by one would leave.
   */
  appendToStreams(parts: StreamAppend[], options?: AppendManyOptions): Promise<AppendResult[]>;
  /** Throws {@link StreamNotFoundError} (on iteration) when the stream has no events. */
  readStream<E extends RecordedEvent = RecordedEvent>(
    streamId: string,
    options?: ReadStreamOptions,
  ): AsyncIterable<E>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;
  /** Position of the last event in `$all`, or null when empty. Cheap; used for lag and tests. */
  headPosition(): Promise<Position | null>;
  close(): Promise<void>;
}

/** Maximum size of one appended event (data + metadata JSON), as EventStoreDB's default. */
export const MAX_EVENT_BYTES = 1024 * 1024;
