import { FORWARDS, type AllStreamResolvedEvent, type AllStreamSubscription, type EventStoreDBClient, type Position as EsdbPosition } from '@eventstore/db-client';
import { EngineError, ErrorCode } from '../../errors.js';
import type { Position, RecordedEvent, SubscribeToAllOptions, Subscription } from '../types.js';
import { comparePositions, toRecordedEvent } from './convert.js';
import { isTransientEsdbError, mapEsdbError } from './errors.js';
import { compileFilter } from './filter.js';
import { drain } from './reads.js';

/**
 * A catch-up subscription to `$all` that survives dropped calls.
 *
 * `@eventstore/db-client` 6.2.1 reconnects its channel on UNAVAILABLE/CANCELLED/not-leader but
 * does not resubscribe ({@link https://github.com/EventStore/EventStore-Client-NodeJS}); this
 * wrapper does, from the last position it has received (an event or a filter checkpoint), so
 * the consumer sees every matching event exactly once across drops, server restarts and leader
 * changes. Received events are queued here rather than in the client's stream, because a
 * dropped client stream discards what it has buffered.
 */

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5_000;
/** Pause the server stream while this many events wait for the consumer. */
const HIGH_WATER = 1_000;
/** Silence after which `caughtUp` is checked against the log (servers before 23.10). */
const CAUGHT_UP_PROBE_MS = 100;

type Item = { event: RecordedEvent } | { error: Error };

export interface EsdbSubscriptionHooks {
  /** Position of the last non-system event, or null; read once when the subscription starts. */
  headPosition(): Promise<Position | null>;
  /** Raw head of `$all` (system events included), to turn `'end'` into a resumable position. */
  rawHeadPosition(): Promise<Position | null>;
  onClose(sub: EsdbSubscription): void;
}

export class EsdbSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  /** How many times the subscription was re-established after a drop (for logs and tests). */
  resubscriptions = 0;

  private resolveCaughtUp!: () => void;
  private isCaughtUp = false;
  private readonly queue: Item[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private current: AllStreamSubscription | undefined;
  /** Exclusive resume point; undefined = from the start of `$all`. */
  private resumeFrom: Position | undefined;
  private headAtStart: Position | null | undefined;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly filter;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: SubscribeToAllOptions,
    private readonly hooks: EsdbSubscriptionHooks,
  ) {
    this.caughtUp = new Promise((resolve) => (this.resolveCaughtUp = resolve));
    this.filter = compileFilter(options.filter);
    void this.start();
  }

  private async start(): Promise<void> {
    try {
      const from = this.options.fromPosition ?? 'start';
      if (from === 'end') {
        // Resolve "end" now: resubscribing from "end" after a drop would skip what was
        // written during the outage.
        const head = await this.hooks.rawHeadPosition();
        this.resumeFrom = head ?? undefined;
        this.headAtStart = null;
      } else {
        this.resumeFrom = from === 'start' ? undefined : from;
        this.headAtStart = await this.hooks.headPosition();
      }
      if (this.headAtStart === null || (this.resumeFrom && comparePositions(this.resumeFrom, this.headAtStart) >= 0)) {
        this.markCaughtUp();
      }
      this.connect();
    } catch (err) {
      this.onDrop(err);
    }
  }

  private connect(): void {
    if (this.closed) return;
    const sub = this.client.subscribeToAll({
      fromPosition: this.resumeFrom ?? 'start',
      filter: this.filter.server((p) => this.advance(p)),
    });
    this.current = sub;
    sub.on('data', (resolved: AllStreamResolvedEvent) => {
      if (sub !== this.current) return;
      this.retryMs = RETRY_MIN_MS;
      const raw = resolved.event;
      if (raw?.position) this.advance(raw.position);
      const event = toRecordedEvent(resolved);
      if (event && this.filter.matches(event)) this.push({ event });
      this.armProbe();
    });
    sub.on('confirmation', () => this.armProbe());
    sub.on('caughtUp', () => this.markCaughtUp());
    sub.on('error', (err: unknown) => {
      if (sub === this.current) this.onDrop(err);
    });
    sub.on('end', () => {
      if (sub === this.current) this.onDrop(new EngineError(ErrorCode.STORE_UNAVAILABLE, 'The server ended the subscription'));
    });
  }

  /** Moves the resume point and, on servers that never send `caughtUp`, detects it. */
  private advance(p: EsdbPosition): void {
    const pos = { commit: p.commit, prepare: p.prepare };
    if (!this.resumeFrom || comparePositions(pos, this.resumeFrom) > 0) this.resumeFrom = pos;
    if (this.headAtStart && comparePositions(pos, this.headAtStart) >= 0) this.markCaughtUp();
  }

  private markCaughtUp(): void {
    if (this.isCaughtUp) return;
    this.isCaughtUp = true;
    clearTimeout(this.probeTimer);
    this.resolveCaughtUp();
  }

  /**
   * Fallback for servers without `caughtUp` when the last matching event lies before the head
   * and no checkpoint reaches it: once the stream goes quiet, if no matching event remains
   * between the resume point and the head seen at start, every stored event was delivered.
   */
  private armProbe(): void {
    if (this.isCaughtUp || this.closed) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), CAUGHT_UP_PROBE_MS);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    const head = this.headAtStart;
    if (this.isCaughtUp || this.probing || !head) return;
    this.probing = true;
    try {
      const from = this.resumeFrom;
      let pending = false;
      for await (const resolved of drain(this.client.readAll({ fromPosition: from ?? 'start', direction: FORWARDS }))) {
        const raw = resolved.event;
        if (!raw?.position) continue;
        if (from && comparePositions(raw.position, from) <= 0) continue;
        if (comparePositions(raw.position, head) > 0) break;
        const e = toRecordedEvent(resolved);
        if (e && this.filter.matches(e)) {
          pending = true;
          break;
        }
      }
      if (!pending && from === this.resumeFrom) this.markCaughtUp();
    } catch {
      // The subscription's own error handling deals with an unavailable server.
    } finally {
      this.probing = false;
      if (!this.isCaughtUp) this.armProbe();
    }
  }

  private onDrop(err: unknown): void {
    const dropped = this.current;
    this.current = undefined;
    if (dropped) void dropped.unsubscribe().catch(() => {});
    if (this.closed) return;
    if (!isTransientEsdbError(err)) {
      this.push({ error: mapEsdbError(err) });
      void this.unsubscribe();
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.resubscriptions++;
      if (this.headAtStart === undefined) void this.start();
      else this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private push(item: Item): void {
    this.queue.push(item);
    if (this.queue.length >= HIGH_WATER) this.current?.pause();
    this.waiter?.();
  }

  async unsubscribe(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    const sub = this.current;
    this.current = undefined;
    this.waiter?.();
    this.hooks.onClose(this);
    // Nobody will ever deliver the rest: settle `caughtUp` so that no awaiter hangs.
    this.markCaughtUp();
    if (sub) await sub.unsubscribe().catch(() => {});
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    try {
      for (;;) {
        const item = this.queue.shift();
        if (item) {
          if (this.queue.length < HIGH_WATER / 2 && this.current?.isPaused()) this.current.resume();
          if ('error' in item) throw item.error;
          yield item.event;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.waiter = resolve));
        this.waiter = undefined;
      }
    } finally {
      await this.unsubscribe();
    }
  }
}
