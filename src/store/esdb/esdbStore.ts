import { BACKWARDS, EventStoreDBClient, FORWARDS, jsonEvent, type JSONType } from '@eventstore/db-client';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import { prepareAppend, prepareAppends, type AppendPart } from '../sqlite/prepareBatch.js';
import { normaliseMaxCount, validateStreamName } from '../sqlite/validateInput.js';
import type {
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
} from '../types.js';
import { comparePositions, isSystemRecord, toRecordedEvent } from './convert.js';
import { isTransientEsdbError, mapEsdbError } from './errors.js';
import { drain } from './reads.js';
import { EsdbSubscription } from './subscription.js';

/** One validated part of an append, ready for the wire. */
interface PreparedAppend {
  streamId: string;
  expected: ExpectedRevision;
  wire: ReturnType<typeof jsonEvent>[];
}

/**
 * The wire events of a validated part. The client serialises data itself; the originals are
 * what `prepareAppend` just proved serialisable. Metadata is always written so that it reads
 * back as on SQLite.
 */
function toWire(part: AppendPart, events: EventData | EventData[]): PreparedAppend {
  const list = Array.isArray(events) ? events : [events];
  const wire = list.map((e, i) =>
    jsonEvent({ id: part.batch[i]!.id, type: part.batch[i]!.type, data: e.data as JSONType, metadata: (e.metadata ?? {}) as JSONType }),
  );
  return { streamId: part.streamId, expected: part.expected, wire };
}

/** Tries per append when the call drops (each retry re-sends the same event ids). */
const APPEND_ATTEMPTS = 3;
/** Page size for `$all` reads, which filter system events out on this side. */
const ALL_PAGE = 512;
/** Page size when looking backwards for the last engine event. */
const HEAD_PAGE = 64;

/**
 * Rewrites `kurrentdb://` and `kurrentdb+discover://` (the KurrentDB clients' schemes) to the
 * `esdb` schemes the 6.2.1 client parses; the options are the same.
 */
export function toEsdbConnectionString(connectionString: string): string {
  return connectionString.replace(/^kurrent(?:db)?(\+discover)?:\/\//i, (_m, discover: string | undefined) => `esdb${discover ?? ''}://`);
}

/**
 * The {@link EventStore} port over EventStoreDB / KurrentDB through `@eventstore/db-client`.
 * Input is validated exactly as in the SQLite store (same error codes), before any network call.
 * `readAll` and `subscribeToAll` hide system records (see {@link isSystemRecord}).
 */
export class EsdbStore implements EventStore {
  private closed = false;
  private readonly subscriptions = new Set<EsdbSubscription>();

  constructor(
    readonly client: EventStoreDBClient,
    private readonly release: () => Promise<void> = () => client.dispose(),
  ) {}

  private assertOpen(): void {
    if (this.closed) throw new EngineError(ErrorCode.STORE_CLOSED, 'The EventStoreDB store is closed');
  }

  async appendToStream(streamId: string, events: EventData | EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    return this.send(toWire(prepareAppend({ streamId, events, ...options }), events));
  }

  /**
   * One part after another: EventStoreDB has no multi-stream transaction, so a failure (or a
   * crash) part-way leaves the earlier parts committed, exactly as separate appends would.
   * Every part is validated before the first is sent.
   */
  async appendToStreams(parts: StreamAppend[]): Promise<AppendResult[]> {
    this.assertOpen();
    const prepared = prepareAppends(parts).map((p, i) => toWire(p, parts[i]!.events));
    const results: AppendResult[] = [];
    for (const p of prepared) results.push(await this.send(p));
    return results;
  }

  private async send({ streamId, expected, wire }: PreparedAppend): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.client.appendToStream(streamId, wire, { expectedRevision: expected });
        // An idempotent retry is acknowledged without a position: look the event up.
        const position = result.position ?? (await this.positionOf(streamId, result.nextExpectedRevision));
        return { nextExpectedRevision: result.nextExpectedRevision, position };
      } catch (err) {
        // A dropped call may or may not have been written. Re-sending the same event ids is
        // idempotent on the server, so a retry can only succeed once. (6.2.1 also rejects every
        // pending BatchAppend in the process when any BatchAppend stream fails.)
        if (attempt >= APPEND_ATTEMPTS || this.closed || !isTransientEsdbError(err)) {
          throw mapEsdbError(err, { stream: streamId, expected });
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  private async positionOf(streamId: string, revision: bigint): Promise<Position> {
    for await (const resolved of drain(this.client.readStream(streamId, { fromRevision: revision, maxCount: 1 }))) {
      const p = resolved.event?.position;
      if (p) return { commit: p.commit, prepare: p.prepare };
    }
    throw new EngineError(ErrorCode.INTERNAL, `No position for ${quote(streamId)}@${revision}`);
  }

  readStream<E extends RecordedEvent = RecordedEvent>(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<E> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.assertOpen();
        validateStreamName(streamId);
        const max = normaliseMaxCount(options.maxCount);
        const from = options.fromRevision ?? (options.direction === 'backwards' ? 'end' : 'start');
        if (typeof from !== 'bigint' && from !== 'start' && from !== 'end') {
          throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Invalid fromRevision ${quote(from)}`);
        }
        if (typeof from === 'bigint' && from < 0n) {
          throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Invalid fromRevision ${quote(from)}`);
        }
        try {
          const reader = self.client.readStream(streamId, {
            fromRevision: from,
            direction: options.direction === 'backwards' ? BACKWARDS : FORWARDS,
            ...(Number.isFinite(max) ? { maxCount: max } : {}),
          });
          for await (const resolved of drain(reader)) {
            const e = toRecordedEvent(resolved);
            if (e) yield e as E;
          }
        } catch (err) {
          throw mapEsdbError(err, { stream: streamId });
        }
      },
    };
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.assertOpen();
        let remaining = normaliseMaxCount(options.maxCount);
        const backwards = options.direction === 'backwards';
        let from = options.fromPosition ?? (backwards ? 'end' : 'start');
        if (typeof from === 'object' && (typeof from.commit !== 'bigint' || typeof from.prepare !== 'bigint')) {
          throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'Invalid fromPosition: { commit: bigint, prepare: bigint }');
        }
        // Forward reads are inclusive of their start; later pages start at the last event
        // read, which is then skipped.
        let skip: Position | undefined;
        try {
          while (remaining > 0) {
            let seen = 0;
            let last: Position | undefined;
            for await (const resolved of drain(
              self.client.readAll({ fromPosition: from, direction: backwards ? BACKWARDS : FORWARDS, maxCount: ALL_PAGE }),
            )) {
              seen++;
              const raw = resolved.event;
              if (!raw?.position) continue;
              last = raw.position;
              if (skip && comparePositions(raw.position, skip) === 0) continue;
              const e = toRecordedEvent(resolved);
              if (!e) continue;
              yield e;
              if (--remaining <= 0) return;
            }
            if (seen < ALL_PAGE || !last) return;
            from = last;
            skip = backwards ? undefined : last;
          }
        } catch (err) {
          throw mapEsdbError(err);
        }
      },
    };
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertOpen();
    const sub = new EsdbSubscription(this.client, options, {
      headPosition: () => this.headPosition(),
      rawHeadPosition: () => this.rawHeadPosition(),
      onClose: (s) => this.subscriptions.delete(s),
    });
    this.subscriptions.add(sub);
    return sub;
  }

  /** Position of the last engine (non-system) event in `$all`. */
  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    try {
      let from: 'end' | Position = 'end';
      for (;;) {
        let seen = 0;
        let last: Position | undefined;
        for await (const resolved of drain(this.client.readAll({ fromPosition: from, direction: BACKWARDS, maxCount: HEAD_PAGE }))) {
          seen++;
          const e = resolved.event;
          if (!e?.position) continue;
          last = e.position;
          if (!isSystemRecord(e.streamId, e.type)) return { commit: e.position.commit, prepare: e.position.prepare };
        }
        if (seen < HEAD_PAGE || !last) return null;
        from = last;
      }
    } catch (err) {
      throw mapEsdbError(err);
    }
  }

  private async rawHeadPosition(): Promise<Position | null> {
    for await (const resolved of drain(this.client.readAll({ fromPosition: 'end', direction: BACKWARDS, maxCount: 1 }))) {
      const p = resolved.event?.position;
      if (p) return { commit: p.commit, prepare: p.prepare };
    }
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe()));
    await this.release();
  }
}
