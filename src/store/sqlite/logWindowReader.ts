import type { Database, Statement } from 'better-sqlite3';
import type { RecordedEvent } from '../types.js';
import { openDatabase } from './openDatabase.js';
import { EVENT_COLUMNS, type EventRow } from './statements.js';
import { toRecordedEvent } from './toRecordedEvent.js';

/** Events of one window of `$all` positions, and how far the window reached. */
export interface LogWindow {
  /** The window's events whose type was asked for, in position order, decoded. */
  events: RecordedEvent[];
  /** The last position the window covered: every event up to it was seen (or skipped by type). */
  through: number;
}

/**
 * Reads the log by windows of positions on a read connection of its own, so that it can run in
 * another thread than the store (the projector's catch-up workers). Only rows of the asked
 * types leave SQLite: a row a reader has no use for is never copied into JavaScript strings nor
 * JSON-parsed, which is most of what a row costs. Because a window is a range of positions and
 * not a number of rows, the caller knows how far it got even when no row matched, and can move
 * its checkpoint past the skipped events.
 */
export interface LogWindowReader {
  /** The last position in the log now (0 when empty). */
  head(): number;
  /** Events with `after < position <= min(after + span, until)` (of the asked types). */
  read(after: number, span: number, until: number): LogWindow;
  /** How often each event type occurs after `after` (every type, whatever was asked): a sample of the log's mix. */
  typeCounts(after: number): Map<string, number>;
  close(): void;
}

export interface LogWindowReaderOptions {
  /** Only these event types; undefined reads every event. */
  eventTypes?: readonly string[];
}

/** Opens a reader over the SQLite event log at `path` (a file, not `:memory:`). */
export function openLogWindowReader(path: string, options: LogWindowReaderOptions = {}): LogWindowReader {
  const db: Database = openDatabase({ path, synchronous: 'normal' });
  const types = options.eventTypes;
  const typeClause = types === undefined ? '' : ` AND type IN (${types.map(() => '?').join(', ') || 'NULL'})`;
  const window: Statement<unknown[], EventRow> = db
    .prepare<unknown[], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? AND position <= ?${typeClause} ORDER BY position ASC`)
    .raw();
  const head = db.prepare<[], number | null>('SELECT max(position) FROM events').pluck();
  const typeRows = db.prepare<[number], [string, number]>('SELECT type, count(*) FROM events WHERE position > ? GROUP BY type').raw();
  const typeArgs = types ?? [];
  return {
    head: () => head.get() ?? 0,
    read(after, span, until) {
      const through = Math.min(after + span, until);
      if (through <= after) return { events: [], through: after };
      const rows = window.all(after, through, ...typeArgs);
      const events = new Array<RecordedEvent>(rows.length);
      for (let i = 0; i < rows.length; i++) events[i] = toRecordedEvent(rows[i]!);
      return { events, through };
    },
    typeCounts: (after) => new Map(typeRows.all(after)),
    close: () => db.close(),
  };
}
