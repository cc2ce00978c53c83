import type { RecordedEvent } from '../types.js';
import type { EventRow } from './statements.js';
import { toRecordedEvent } from './toRecordedEvent.js';

/** Rows per SQLite round trip: large enough to amortise the call, small enough to stay lazy. */
export const READ_PAGE_SIZE = 512;

/**
 * Reads are paged with keyset cursors instead of one open `iterate()`: no statement stays busy
 * across `await`s, so a slow consumer never blocks appends on the same connection.
 * `readPage(limit)` returns the next rows and advances its own cursor.
 */
export async function* readPages(
  maxCount: number,
  readPage: (limit: number) => EventRow[],
  onEmpty?: () => void,
): AsyncGenerator<RecordedEvent, void, undefined> {
  let remaining = maxCount;
  let first = true;
  while (remaining > 0) {
    const limit = Math.min(remaining, READ_PAGE_SIZE);
    const rows = readPage(limit);
    if (first && rows.length === 0) onEmpty?.();
    first = false;
    for (const row of rows) yield toRecordedEvent(row);
    remaining -= rows.length;
    if (rows.length < limit) return;
  }
}
