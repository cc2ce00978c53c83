import { EngineError, ErrorCode, quote } from '../errors.js';
import { isWrongExpectedVersion, StreamNotFoundError } from '../store/errors.js';
import type { AppendResult, Durability, EventData, EventStore, RecordedEvent } from '../store/types.js';
import { decodeOrThrow, type DomainEvent } from './catalogue.js';

/** Reads and decodes a whole stream; a missing stream is an empty one. */
export async function readDomainEvents(store: EventStore, streamId: string): Promise<DomainEvent[]> {
  const out: DomainEvent[] = [];
  try {
    for await (const e of store.readStream(streamId)) out.push(decodeOrThrow(e));
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw err;
  }
  return out;
}

/**
 * The last event of a stream (one event read), or null when it has none. The read runs to its
 * end rather than being left after the first event: leaving a gRPC read early depends on its
 * cancellation, which a store's `close()` would otherwise wait for.
 */
export async function readLastEvent(store: EventStore, streamId: string): Promise<RecordedEvent | null> {
  let last: RecordedEvent | null = null;
  try {
    for await (const e of store.readStream(streamId, { direction: 'backwards', fromRevision: 'end', maxCount: 1 })) last ??= e;
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return last;
}

/** The last revision of a stream (one event read), or null when it has none. */
export async function lastRevision(store: EventStore, streamId: string): Promise<bigint | null> {
  return (await readLastEvent(store, streamId))?.revision ?? null;
}

export interface Handled<S> {
  /** State the decision was taken on. */
  state: S;
  /** Events appended (empty when the decision was to do nothing). */
  appended: EventData[];
  result: AppendResult | null;
  revision: bigint | null;
}

/**
 * Read, decide, append at the revision read; on a concurrent write re-read and decide again.
 * `decide` must be pure and synchronous: effects belong after a successful append.
 *
 * @see architecture.md §2 "Decide, append, then act"
 */
export async function handleCommand<S>(
  store: EventStore,
  streamId: string,
  fold: (events: DomainEvent[]) => S,
  decide: (state: S, attempt: number) => EventData[],
  options: { maxAttempts?: number; firstRead?: DomainEvent[]; durability?: Durability } = {},
): Promise<Handled<S>> {
  // Each conflict round lets exactly one writer through, so the budget must exceed the number
  // of writers one stream can see at once (20 browsers joining one attempt, across replicas).
  const maxAttempts = options.maxAttempts ?? 30;
  for (let attempt = 1; ; attempt++) {
    // A caller that has just read the stream passes its read: the append at that revision
    // still fails if anything was written since, and later attempts read afresh.
    const events = attempt === 1 && options.firstRead ? options.firstRead : await readDomainEvents(store, streamId);
    const state = fold(events);
    const revision = events.length ? events[events.length - 1]!.revision : null;
    const toAppend = decide(state, attempt);
    if (toAppend.length === 0) return { state, appended: [], result: null, revision };
    try {
      const result = await store.appendToStream(streamId, toAppend, {
        expectedRevision: revision ?? 'no_stream',
        ...(options.durability ? { durability: options.durability } : {}),
      });
      return { state, appended: toAppend, result, revision };
    } catch (err) {
      if (!isWrongExpectedVersion(err)) throw err;
      if (attempt >= maxAttempts) {
        throw new EngineError(ErrorCode.CONCURRENCY_RETRIES_EXHAUSTED, `Gave up on ${quote(streamId)} after ${attempt} concurrent writes`, { cause: err });
      }
      // Capped exponential backoff with full jitter: losers spread out instead of re-colliding.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 * 2 ** attempt)));
    }
  }
}
