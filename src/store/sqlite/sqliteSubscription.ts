import { EngineError, ErrorCode } from '../../errors.js';
import type { RecordedEvent, Subscription } from '../types.js';
import type { ChangeWatcher } from './changeWatcher.js';
import { ROW, type EventRow } from './statements.js';
import type { RowPredicate } from './subscriptionFilter.js';
import { toRecordedEvent } from './toRecordedEvent.js';

/** What a subscription needs from its store. */
export interface SubscriptionSource {
  /** Rows with position > `after`, in position order; throws STORE_CLOSED once closed. */
  readAfter(after: number, limit: number): EventRow[];
  watcher: ChangeWatcher;
  release(sub: SqliteSubscription): void;
}

const PAGE_SIZE = 512;
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A catch-up subscription, pulled page by page: nothing is read ahead of the consumer, so a slow
 * projector never makes the store buffer the whole log. Once it reaches the head it waits on the
 * store's {@link ChangeWatcher}: appends through the same store wake it at once, appends by other
 * processes within the poll interval (15 ms by default).
 *
 * `caughtUp` resolves when every event stored at subscription time (and matching the filter) has
 * been handed to the consumer, so iterate to make it resolve. It rejects with STORE_CLOSED if the
 * store closes first and stays pending if you unsubscribe first. One consumer at a time.
 */
export class SqliteSubscription implements Subscription, AsyncIterator<RecordedEvent> {
  readonly caughtUp: Promise<void>;
  readonly #source: SubscriptionSource;
  readonly #filter: RowPredicate | undefined;
  /** Head position when the subscription started: the end of the catch-up part. */
  readonly #catchUpEnd: number;
  #cursor: number;
  #buffer: RecordedEvent[] = [];
  #index = 0;
  /** Buffered events at or before {@link #catchUpEnd} not yet handed out. */
  #catchUpLeft = 0;
  #isCaughtUp = false;
  #ended = false;
  #resolveCaughtUp!: () => void;
  #rejectCaughtUp!: (err: unknown) => void;
  #cancelWait: (() => void) | undefined;

  constructor(source: SubscriptionSource, after: number, head: number, filter: RowPredicate | undefined) {
    this.#source = source;
    this.#filter = filter;
    this.#cursor = after;
    this.#catchUpEnd = head;
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.#resolveCaughtUp = resolve;
      this.#rejectCaughtUp = reject;
    });
    // Awaiting it is optional: never let an unawaited rejection crash the process.
    this.caughtUp.catch(() => undefined);
    if (after >= head) this.#markCaughtUp();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<RecordedEvent>> {
    for (;;) {
      if (this.#ended) return DONE;
      if (this.#index < this.#buffer.length) {
        const value = this.#buffer[this.#index++]!;
        if (this.#catchUpLeft > 0 && --this.#catchUpLeft === 0 && this.#cursor >= this.#catchUpEnd) {
          this.#markCaughtUp();
        }
        return { done: false, value };
      }
      const version = this.#source.watcher.version();
      if (this.#fill()) continue;
      this.#markCaughtUp();
      const waiting = this.#source.watcher.wait(version);
      this.#cancelWait = waiting.cancel;
      await waiting.promise;
      this.#cancelWait = undefined;
    }
  }

  async return(): Promise<IteratorResult<RecordedEvent>> {
    await this.unsubscribe();
    return DONE;
  }

  async unsubscribe(): Promise<void> {
    this.end();
    this.#source.release(this);
  }

  /** Stops delivery; pending `next()` calls finish with `done`. */
  end(reason?: EngineError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#buffer = [];
    this.#index = 0;
    this.#cancelWait?.();
    if (reason !== undefined && !this.#isCaughtUp) this.#rejectCaughtUp(reason);
  }

  /** Reads the next page; false when there was nothing after the cursor. */
  #fill(): boolean {
    let rows: EventRow[];
    try {
      rows = this.#source.readAfter(this.#cursor, PAGE_SIZE);
    } catch (err) {
      this.end(err instanceof EngineError ? err : new EngineError(ErrorCode.STORE_UNAVAILABLE, 'Subscription read failed', { cause: err }));
      throw err;
    }
    if (rows.length === 0) return false;
    const filter = this.#filter;
    const end = this.#catchUpEnd;
    const buffer: RecordedEvent[] = [];
    let left = 0;
    for (const row of rows) {
      if (filter !== undefined && !filter(row[ROW.streamId], row[ROW.type])) continue;
      buffer.push(toRecordedEvent(row));
      if (row[ROW.position] <= end) left++;
    }
    this.#cursor = rows[rows.length - 1]![ROW.position];
    this.#buffer = buffer;
    this.#index = 0;
    this.#catchUpLeft = left;
    if (left === 0 && this.#cursor >= end) this.#markCaughtUp();
    return true;
  }

  #markCaughtUp(): void {
    if (this.#isCaughtUp) return;
    this.#isCaughtUp = true;
    this.#resolveCaughtUp();
  }
}
