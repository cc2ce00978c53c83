import { openEventStore } from '../../../src/store/openEventStore.js';
import type { EventStore } from '../../../src/store/types.js';
import { appendGolden, loadGolden, type GoldenLog } from '../../support/goldenLog.js';

/** A fresh in-memory store holding one golden log. */
export async function goldenStore(name: string): Promise<{ store: EventStore; log: GoldenLog }> {
  const log = loadGolden(name);
  const store = await openEventStore('sqlite::memory:');
  await appendGolden(store, log.events);
  return { store, log };
}

/** The time of a log's last event: "now" for statuses, so pending flows read the same forever. */
export const lastAt = (log: GoldenLog): Date => new Date((log.events.at(-1)!.metadata as { at: string }).at);
