import type { Database, Statement } from 'better-sqlite3';

/** Column list shared by every read so that {@link toRecordedEvent} sees one row shape. */
export const EVENT_COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, created';

/**
 * An event row as a positional tuple in {@link EVENT_COLUMNS} order. Event reads run in raw
 * mode: better-sqlite3 then builds one array per row instead of an object with eight named
 * properties, which roughly halves the cost of a row on a whole-log scan.
 */
export type EventRow = [
  position: number,
  streamId: string,
  revision: number,
  eventId: string,
  type: string,
  data: string,
  metadata: string,
  created: number,
];

/** Indexes into {@link EventRow}. */
export const ROW = { position: 0, streamId: 1, revision: 2, eventId: 3, type: 4, data: 5, metadata: 6, created: 7 } as const;

export interface IdRow {
  stream_id: string;
  revision: number;
  position: number;
}

/**
 * Every statement the store runs, prepared once per connection: preparing costs more than
 * running a small statement, and the append path runs two per event.
 */
export interface Statements {
  streamHead: Statement<[string], number>;
  insert: Statement<[string, number, string, string, string, string, number]>;
  eventById: Statement<[string], IdRow>;
  streamForwards: Statement<[string, number, number], EventRow>;
  streamBackwards: Statement<[string, number, number], EventRow>;
  allForwards: Statement<[number, number], EventRow>;
  allBackwards: Statement<[number, number], EventRow>;
  headPosition: Statement<[], number | null>;
  dataVersion: Statement<[], number>;
}

export function prepareStatements(db: Database): Statements {
  return {
    streamHead: db
      .prepare<[string], number>('SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1')
      .pluck(),
    insert: db.prepare(
      'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    eventById: db.prepare('SELECT stream_id, revision, position FROM events WHERE event_id = ?'),
    streamForwards: db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`,
      )
      .raw(),
    streamBackwards: db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
      )
      .raw(),
    allForwards: db
      .prepare<[number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? ORDER BY position ASC LIMIT ?`,
      )
      .raw(),
    allBackwards: db
      .prepare<[number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position < ? ORDER BY position DESC LIMIT ?`,
      )
      .raw(),
    headPosition: db.prepare<[], number | null>('SELECT max(position) FROM events').pluck(),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  };
}
