/**
 * The embedded store against raw better-sqlite3 doing the same work, in the same run, with the
 * same durability (WAL + synchronous=FULL) and the same row size (200-byte data JSON, ~100-byte
 * metadata JSON). The raw side is perf-anchors.md's "storage limit": one prepared INSERT per row
 * in `db.transaction().immediate`, no read-before-write, no event-id index. JSON.stringify and
 * the uuid are computed inside the timed loop on both sides. Contenders run in alternation.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteEventStore, type SqliteEventStore } from '../src/store/sqlite/sqliteEventStore.js';
import type { EventData, RecordedEvent } from '../src/store/types.js';
import { boundedLoop, formatRate, measurePair, printTable, stopwatch, type Measured, type Once } from './_measure.js';

const SINGLE_APPENDS = 3_000;
const BATCH_SIZE = 100;
const BATCHES = 400;
/** Seconds one run may take before it stops early (slow or busy disks). */
const RUN_BUDGET = 1;
const SCAN_EVENTS = 50_000;
/** Events per append when filling the scan files: set-up, so as few fsyncs as possible. */
const FILL_BATCH = 1_000;
const PER_STREAM = 8;
/** Scans are short and CPU-bound, so more of them are cheap and steady the median. */
const SCAN_RUNS = 5;

const RAW_SCHEMA = `CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT, revision INTEGER, type TEXT,
  data TEXT, metadata TEXT, created INTEGER, UNIQUE(stream_id, revision))`;

const base = mkdtempSync(join(tmpdir(), 'flow-bench-store-'));
let fileCounter = 0;
const freshPath = () => join(base, `f${fileCounter++}.db`);

/** An OAuth-flow-shaped payload whose JSON is exactly 200 bytes. */
function flowData(flowId: string, seq: number): Record<string, unknown> {
  const data: Record<string, unknown> = {
    flowId,
    seq,
    issuer: 'https://as.example.com',
    redirectUri: 'http://localhost:3080/cb',
    state: 'st-0123456789abcdef',
    at: '2026-11-26T12:00:00.000Z',
    pad: '',
  };
  data['pad'] = 'x'.repeat(200 - JSON.stringify(data).length);
  return data;
}

/** About 100 bytes of JSON, the shape perf-anchors.md uses. */
function flowMetadata(streamName: string, seq: number): Record<string, unknown> {
  return { streamName, messageId: randomUUID(), streamPosition: seq };
}

function event(stream: string, seq: number): EventData {
  return { id: randomUUID(), type: 'FlowProgressed', data: flowData(stream, seq), metadata: flowMetadata(stream, seq) };
}

function rawRow(stream: string, revision: number): unknown[] {
  const e = event(stream, revision);
  return [stream, revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), Date.now()];
}

interface Raw {
  db: Database.Database;
  append: (rows: unknown[][]) => void;
}

function openRaw(path: string): Raw {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(RAW_SCHEMA);
  const insert = db.prepare('INSERT INTO events (stream_id, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((rows: unknown[][]) => {
    for (const r of rows) insert.run(...r);
  });
  return { db, append: (rows) => tx.immediate(rows) };
}

function openOurs(path = freshPath()): SqliteEventStore {
  const store = openSqliteEventStore({ path });
  if (store.settings().synchronous !== 'full') throw new Error('bench expects synchronous=FULL');
  return store;
}

/** Where the i-th single event goes: one stream, or a new stream every PER_STREAM events. */
type StreamOf = (i: number) => { stream: string; revision: number };
const oneStream: StreamOf = (i) => ({ stream: 'flow-bench', revision: i });
const manyStreams: StreamOf = (i) => ({ stream: `flow-${String(Math.floor(i / PER_STREAM)).padStart(8, '0')}`, revision: i % PER_STREAM });

/** Single-event appends at exact expected revisions, as the flow engine appends. */
const singleOurs = (streamOf: StreamOf): Once => async () => {
  const store = openOurs();
  const run = await boundedLoop(SINGLE_APPENDS, RUN_BUDGET, (i) => {
    const { stream, revision } = streamOf(i);
    return store.appendToStream(stream, event(stream, revision), {
      expectedRevision: revision === 0 ? 'no_stream' : BigInt(revision - 1),
    });
  });
  await store.close();
  return run;
};

const singleRaw = (streamOf: StreamOf): Once => async () => {
  const { db, append } = openRaw(freshPath());
  const run = await boundedLoop(SINGLE_APPENDS, RUN_BUDGET, (i) => {
    const { stream, revision } = streamOf(i);
    append([rawRow(stream, revision)]);
  });
  db.close();
  return run;
};

const batchOurs = (batches = BATCHES, size = BATCH_SIZE, budget = RUN_BUDGET, path?: string): Once => async () => {
  const store = openOurs(path ?? freshPath());
  const run = await boundedLoop(batches, budget, (b) =>
    store.appendToStream(
      `flow-${b}`,
      Array.from({ length: size }, (_, i) => event(`flow-${b}`, i)),
      { expectedRevision: 'no_stream' },
    ),
  );
  await store.close();
  return { ...run, items: run.items * size };
};

const batchRaw = (batches = BATCHES, size = BATCH_SIZE, budget = RUN_BUDGET, path?: string): Once => async () => {
  const { db, append } = openRaw(path ?? freshPath());
  const run = await boundedLoop(batches, budget, (b) => append(Array.from({ length: size }, (_, i) => rawRow(`flow-${b}`, i))));
  db.close();
  return { ...run, items: run.items * size };
};

/** Raw scan: `iterate()` in position order, decoding data and metadata as the store does. */
const scanRaw = (path: string): Once => async () => {
  const db = new Database(path, { readonly: true });
  const stmt = db.prepare<[], { data: string; metadata: string }>(
    'SELECT position, stream_id, revision, type, data, metadata, created FROM events ORDER BY position',
  );
  let items = 0;
  let check = 0;
  const stop = stopwatch();
  for (const row of stmt.iterate()) {
    check += (JSON.parse(row.data) as { seq: number }).seq + (JSON.parse(row.metadata) as { streamPosition: number }).streamPosition;
    items++;
  }
  const timing = stop();
  db.close();
  if (check < 0) throw new Error('unreachable');
  return { items, ...timing };
};

/** Reads decoded events the way a projection would (touching data and metadata) until `limit`. */
async function drain(events: AsyncIterable<RecordedEvent>, limit = Number.POSITIVE_INFINITY): Promise<number> {
  let items = 0;
  let check = 0;
  for await (const e of events) {
    check += (e.data as { seq: number }).seq + (e.metadata as { streamPosition: number }).streamPosition;
    if (++items === limit) break;
  }
  if (check < 0) throw new Error('unreachable');
  return items;
}

const readAllOurs = (path: string): Once => async () => {
  const store = openOurs(path);
  const stop = stopwatch();
  const items = await drain(store.readAll());
  const timing = stop();
  await store.close();
  return { items, ...timing };
};

/** From the start until `caughtUp`. */
const catchUpOurs = (path: string): Once => async () => {
  const store = openOurs(path);
  const stop = stopwatch();
  const sub = store.subscribeToAll();
  const items = await drain(sub, SCAN_EVENTS);
  await sub.caughtUp;
  const timing = stop();
  await store.close();
  return { items, ...timing };
};

function row(label: string, [ours, raw]: [Measured, Measured]): string[] {
  return [
    label,
    formatRate(ours.perSecond),
    formatRate(raw.perSecond),
    `${(ours.perSecond / raw.perSecond).toFixed(2)}x`,
    `${(ours.perCpuSecond / raw.perCpuSecond).toFixed(2)}x`,
  ];
}

export async function run(): Promise<void> {
  try {
    const rows: string[][] = [];
    rows.push(row('append, 1 event/append, one stream (appends/s)', await measurePair(singleOurs(oneStream), singleRaw(oneStream))));
    rows.push(row(`append, 1 event/append, ${PER_STREAM} per stream (appends/s)`, await measurePair(singleOurs(manyStreams), singleRaw(manyStreams))));
    rows.push(row(`append, batches of ${BATCH_SIZE} (events/s)`, await measurePair(batchOurs(), batchRaw())));

    const oursFile = freshPath();
    const rawFile = freshPath();
    const fills = SCAN_EVENTS / FILL_BATCH;
    await batchOurs(fills, FILL_BATCH, Number.POSITIVE_INFINITY, oursFile)();
    await batchRaw(fills, FILL_BATCH, Number.POSITIVE_INFINITY, rawFile)();
    rows.push(row('readAll + JSON decode (events/s)', await measurePair(readAllOurs(oursFile), scanRaw(rawFile), SCAN_RUNS)));
    rows.push(row('subscribeToAll catch-up (events/s)', await measurePair(catchUpOurs(oursFile), scanRaw(rawFile), SCAN_RUNS)));

    console.log(
      'WAL + synchronous=FULL on both sides; data 200 B + metadata ~100 B JSON per event; medians of alternating runs\n' +
        `(3 per append row, each stopped after ${RUN_BUDGET} s; ${SCAN_RUNS} per scan row) after 1 warm-up. Raw scan = stmt.iterate()\n` +
        `in position order + JSON.parse of data and metadata, ${SCAN_EVENTS.toLocaleString('en-US')} events. "CPU ratio" compares items\n` +
        'per CPU-second of this process: steadier than wall time when other work shares the machine.\n',
    );
    printTable(['measurement', 'flow engine', 'raw better-sqlite3', 'ratio', 'CPU ratio'], rows);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
