import { randomUUID } from 'node:crypto';
import type { ExecutionContext, TestFn } from 'ava';
import type { EventData, EventStore, RecordedEvent, Subscription } from '../../../src/store/types.js';

/** Builds a fresh store per test; `cleanup` runs after the store is closed. */
export type StoreFactory = () => Promise<{ store: EventStore; cleanup?: () => Promise<void> }>;

/**
 * What an adapter guarantees beyond the common port. EventStoreDB keeps no global index of
 * event ids (an id only makes a retry at the same place idempotent), so it cannot refuse an id
 * reused elsewhere; the embedded store can and does.
 */
export interface StoreCapabilities {
  globallyUniqueEventIds: boolean;
  /**
   * `appendToStreams` is all or nothing. EventStoreDB has no multi-stream transaction, so its
   * adapter can leave a committed prefix when a later part fails; the embedded store cannot.
   */
  atomicMultiStreamAppends: boolean;
}

export interface Contract {
  test: TestFn;
  name: string;
  factory: StoreFactory;
  capabilities: StoreCapabilities;
}

/** Opens a store for one test and closes it (then cleans up) when the test ends. */
export async function openFor(t: ExecutionContext, factory: StoreFactory): Promise<EventStore> {
  const { store, cleanup } = await factory();
  t.teardown(async () => {
    await store.close().catch(() => undefined);
    await cleanup?.();
  });
  return store;
}

/**
 * A stream id no other test uses, so the suite also works against a shared server whose `$all`
 * holds other tests' (and system) events.
 */
export function uniqueStream(category = 'contract'): string {
  return `${category}${randomUUID().replaceAll('-', '')}-${randomUUID().slice(0, 8)}`;
}

export function uniqueCategory(): string {
  return `c${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

export function events(count: number, type = 'Tested', from = 0): EventData[] {
  return Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** `readAll` restricted to the given streams: adapters may hold other events in `$all`. */
export async function readAllOf(
  store: EventStore,
  streams: string[],
  options?: Parameters<EventStore['readAll']>[0],
): Promise<RecordedEvent[]> {
  const keep = new Set(streams);
  return (await collect(store.readAll(options))).filter((e) => keep.has(e.streamId));
}

/** Rejects instead of hanging when a subscription never delivers. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Consumes a subscription in the background; `until(n)` waits for n kept events.
 * Keeps only events `keep` accepts (system or other tests' events are ignored).
 */
export function consume(sub: Subscription, keep: (e: RecordedEvent) => boolean = () => true) {
  const seen: RecordedEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const done = (async () => {
    for await (const e of sub) {
      if (keep(e)) seen.push(e);
      wake?.();
    }
  })().catch((err: unknown) => {
    failure = err;
  }).finally(() => wake?.());
  return {
    seen,
    done,
    async until(n: number, ms = 5000): Promise<RecordedEvent[]> {
      const wait = async (): Promise<RecordedEvent[]> => {
        while (seen.length < n) {
          if (failure !== undefined) throw failure;
          await new Promise<void>((resolve) => (wake = resolve));
        }
        return seen.slice(0, n);
      };
      return within(wait(), ms, `${n} subscription events (got ${seen.length})`);
    },
  };
}

export function revisions(list: RecordedEvent[]): bigint[] {
  return list.map((e) => e.revision);
}

export function assertStrictlyIncreasing(t: ExecutionContext, list: RecordedEvent[]): void {
  for (let i = 1; i < list.length; i++) {
    t.true(list[i]!.position.commit > list[i - 1]!.position.commit, `position ${i} increases`);
  }
}
