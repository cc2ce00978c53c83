import { openEventStore } from '../../../src/store/index.js';
import type { EventStore, RecordedEvent } from '../../../src/store/types.js';
import { createMemoryProjectionState } from '../../../src/store/projectionState/index.js';
import type { ProjectionStateStore } from '../../../src/store/projectionState/types.js';
import { startProjector, type Projector, type StartProjectorOptions } from '../../../src/projector/index.js';
import { PROJECTION } from '../../../src/projector/projectionStates.js';
import { emptyClientHealth, emptyOverview, foldClientHealth, foldConnections, foldExpiry, foldFlowStatus, foldOverview } from './folds.js';
import { appendLog, type LogEntry } from './logGenerator.js';

/** Every event of the store, in log order. */
export async function readLog(store: EventStore): Promise<RecordedEvent<string, any, any>[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

/** Object keys sorted recursively, so comparisons ignore insertion order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Every projection's state read through the projector, shaped like {@link expectedStates}. */
export async function projectedStates(projector: Projector, stateStore: ProjectionStateStore, expected: ReturnType<typeof expectedStates>) {
  const flowKeys = new Set([...expected.flowStatus.keys(), ...stateStore.listPartitions(PROJECTION.flowStatus)]);
  const connKeys = new Set([...expected.connections.keys(), ...stateStore.listPartitions(PROJECTION.connections)]);
  const flowStatus: Record<string, unknown> = {};
  for (const k of flowKeys) flowStatus[k] = await projector.getState(PROJECTION.flowStatus, k);
  const connections: Record<string, unknown> = {};
  for (const k of connKeys) connections[k] = await projector.getState(PROJECTION.connections, k);
  return canonical({
    flowStatus,
    connections,
    // A projection that has handled no event has no state yet (as on EventStoreDB).
    clientHealth: (await projector.getState(PROJECTION.clientHealth)) ?? emptyClientHealth(),
    overview: (await projector.getState(PROJECTION.flowsOverview)) ?? emptyOverview(),
    expiry: (await projector.getState(PROJECTION.expiry)) ?? { open: {}, closed: 0 },
  });
}

/** The plain folds' answer for the same log. */
export function expectedStates(events: RecordedEvent<string, any, any>[]) {
  return {
    flowStatus: foldFlowStatus(events),
    connections: foldConnections(events),
    clientHealth: foldClientHealth(events),
    overview: foldOverview(events),
    expiry: foldExpiry(events),
  };
}

export function canonicalExpected(e: ReturnType<typeof expectedStates>) {
  return canonical({
    flowStatus: Object.fromEntries(e.flowStatus),
    connections: Object.fromEntries(e.connections),
    clientHealth: e.clientHealth,
    overview: e.overview,
    expiry: e.expiry,
  });
}

/** A memory store holding `entries`, with a projector over it. */
export async function projectorOver(entries: LogEntry[], options: Partial<StartProjectorOptions> = {}) {
  const store = await openEventStore('sqlite::memory:');
  await appendLog(store, entries);
  const stateStore = options.stateStore ?? createMemoryProjectionState();
  const projector = startProjector({ store, stateStore, ...options });
  return {
    store,
    stateStore,
    projector,
    async close() {
      await projector.stop();
      await store.close();
    },
  };
}
