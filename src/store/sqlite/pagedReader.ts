import type { BufferedEventIterator, RecordedEvent } from '../types.js';
import type { EventRow } from './statements.js';
import { toRecordedEvent } from './toRecordedEvent.js';

/** Rows per SQLite round trip: large enough to amortise the call, small enough to stay lazy. */
export const READ_PAGE_SIZE = 512;

/** What a read needs, built on the first `next()` so that bad arguments throw on iteration. */
export interface PagedRead {
  maxCount: number;
  /** Returns the next rows (at most `limit`) and advances its own keyset cursor. */
  readPage: (limit: number) => EventRow[];
  /** Called when the very first page is empty (readStream: stream not found?). */
  onEmpty?: () => void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
/** Stands in for a row already handed out (keeps the page array packed and of one type). */
const CONSUMED = [] as unknown as EventRow;

/**
 * A single-use async iterator over pages of rows. Paged with keyset cursors rather than one
 * open `iterate()`, so no statement stays busy across `await`s and a slow consumer never blocks
 * appends on the same connection. A plain iterator instead of nested async generators: every
 * `yield*` level costs extra promise turns per event, which shows on a full scan.
 */
export class PagedReader implements AsyncIterableIterator<RecordedEvent>, BufferedEventIterator {
  readonly #start: () => PagedRead | undefined;
  #read: PagedRead | undefined;
  #rows: EventRow[] = [];
  #index = 0;
  #remaining = 0;
  #started = false;
  #pagesRead = 0;
  #finished = false;

  /** `start` returns undefined when the read is known to be empty without touching the store. */
  constructor(start: () => PagedRead | undefined) {
    this.#start = start;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.#index < this.#rows.length) return { done: false, value: this.#take() };
    if (this.#finished) return DONE;
    const read = this.#begin();
    if (read === undefined || this.#remaining <= 0) return this.#finish();
    const limit = Math.min(this.#remaining, READ_PAGE_SIZE);
    let rows: EventRow[];
    try {
      rows = read.readPage(limit);
      if (this.#pagesRead++ === 0 && rows.length === 0) read.onEmpty?.();
    } catch (err) {
      this.#finish();
      throw err;
    }
    this.#remaining -= rows.length;
    if (rows.length < limit) this.#finished = true;
    this.#rows = rows;
    this.#index = 0;
    if (rows.length === 0) return this.#finish();
    return { done: false, value: this.#take() };
  }

  /**
   * Decodes the next row and drops it from the page: a consumed row's strings are garbage at
   * once instead of living (and being copied by every young-generation GC) until the page ends.
   */
  #take(): RecordedEvent {
    const i = this.#index++;
    const row = this.#rows[i]!;
    this.#rows[i] = CONSUMED;
    return toRecordedEvent(row);
  }

  /** The next event of the current page, if any, without fetching (see {@link BufferedEventIterator}). */
  nextBuffered(): RecordedEvent | undefined {
    return this.#index < this.#rows.length ? this.#take() : undefined;
  }

  async return(): Promise<IteratorResult<RecordedEvent>> {
    return this.#finish();
  }

  #begin(): PagedRead | undefined {
    if (!this.#started) {
      this.#started = true;
      try {
        this.#read = this.#start();
      } catch (err) {
        this.#finish();
        throw err;
      }
      this.#remaining = this.#read?.maxCount ?? 0;
    }
    return this.#read;
  }

  #finish(): IteratorReturnResult<undefined> {
    this.#finished = true;
    this.#rows = [];
    this.#index = 0;
    return DONE;
  }
}
