import { randomUUID } from 'node:crypto';

/**
 * The in-memory transaction log behind the test server: one array in `$all` order plus a
 * per-stream index. Positions are byte-ish offsets (each record advances the log by a size
 * computed from its payload), commit = prepare, so clients cannot assume positions are dense.
 */

export interface LogRecord {
  streamId: string;
  id: string;
  revision: bigint;
  /** commit = prepare */
  position: bigint;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
  /** 100-ns ticks since the Unix epoch, as the server sends them. */
  createdTicks: bigint;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

/** `'any' | 'no_stream' | 'stream_exists'` or the revision the stream must be at. */
export type Expected = 'any' | 'no_stream' | 'stream_exists' | bigint;

export type AppendOutcome =
  | { kind: 'ok'; revision: bigint; position: bigint }
  /** Same event ids already at the same place: the server acknowledges without writing. */
  | { kind: 'idempotent'; revision: bigint }
  /** `current` undefined means the stream does not exist. */
  | { kind: 'wrong_expected_version'; current: bigint | undefined }
  | { kind: 'too_large'; max: number };

/** The server's default `MaxAppendSize`: the total of one append's data and metadata. */
export const MAX_APPEND_SIZE = 1024 * 1024;
/** Where the first record lands; real logs start with a chunk header and epoch records. */
const FIRST_POSITION = 4096n;
/** Fixed per-record overhead in the fake byte layout (prepare header, ids, flags). */
const RECORD_OVERHEAD = 80;

export class EventLog {
  readonly records: LogRecord[] = [];
  private readonly streams = new Map<string, LogRecord[]>();
  private nextPosition = FIRST_POSITION;
  private readonly listeners = new Set<() => void>();

  /** The stream's last revision, or undefined when it has no events. */
  currentRevision(streamId: string): bigint | undefined {
    const s = this.streams.get(streamId);
    return s && s.length > 0 ? BigInt(s.length - 1) : undefined;
  }

  stream(streamId: string): readonly LogRecord[] | undefined {
    return this.streams.get(streamId);
  }

  /**
   * Appends atomically, with EventStoreDB's idempotency rule: when the proposed ids are
   * already the events right after the expected revision (or, for `any`, found in sequence
   * anywhere in the stream), the write is acknowledged and nothing is written.
   */
  append(streamId: string, expected: Expected, events: ProposedEvent[]): AppendOutcome {
    const size = events.reduce((n, e) => n + e.data.length + e.metadata.length, 0);
    if (size > MAX_APPEND_SIZE) return { kind: 'too_large', max: MAX_APPEND_SIZE };
    const existing = this.streams.get(streamId) ?? [];
    const current = existing.length > 0 ? BigInt(existing.length - 1) : undefined;

    if (events.length > 0) {
      if (expected === 'any' || expected === 'stream_exists') {
        const first = existing.findIndex((r) => r.id === events[0]!.id);
        if (first >= 0) {
          const same = events.every((e, i) => existing[first + i]?.id === e.id);
          if (same) return { kind: 'idempotent', revision: BigInt(first + events.length - 1) };
          return { kind: 'wrong_expected_version', current };
        }
      } else {
        const after = expected === 'no_stream' ? 0 : Number(expected) + 1;
        if (after < existing.length && existing[after]!.id === events[0]!.id) {
          const same = events.every((e, i) => existing[after + i]?.id === e.id);
          if (same) return { kind: 'idempotent', revision: BigInt(after + events.length - 1) };
          return { kind: 'wrong_expected_version', current };
        }
      }
    }

    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && current === undefined) ||
      (expected === 'stream_exists' && current !== undefined) ||
      (typeof expected === 'bigint' && current === expected);
    if (!ok) return { kind: 'wrong_expected_version', current };
    if (events.length === 0) {
      return { kind: 'ok', revision: current ?? -1n, position: this.nextPosition };
    }

    const list = existing.length > 0 ? existing : [];
    if (existing.length === 0) this.streams.set(streamId, list);
    const createdTicks = BigInt(Date.now()) * 10_000n;
    let position = 0n;
    for (const e of events) {
      position = this.nextPosition;
      const record: LogRecord = {
        streamId,
        id: e.id,
        revision: BigInt(list.length),
        position,
        type: e.type,
        contentType: e.contentType,
        data: e.data,
        metadata: e.metadata,
        createdTicks,
      };
      list.push(record);
      this.records.push(record);
      const bytes = RECORD_OVERHEAD + Buffer.byteLength(streamId) + Buffer.byteLength(e.type) + e.data.length + e.metadata.length;
      // Records are 8-byte aligned in the fake layout, as they are not dense on disk either.
      this.nextPosition += BigInt(Math.ceil(bytes / 8) * 8);
    }
    this.notify();
    return { kind: 'ok', revision: BigInt(list.length - 1), position };
  }

  /** Appends a JSON event written by the server itself (projection bookkeeping). */
  appendSystem(streamId: string, type: string, data: unknown): void {
    const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    this.append(streamId, 'any', [
      { id: randomUUID(), type, contentType: 'application/json', data: bytes(data), metadata: new Uint8Array() },
    ]);
  }

  /** Index of the first record with position >= `position`. */
  indexAtOrAfter(position: bigint): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
