import { systemClock, type Clock } from '../../clock.js';
import { discardClient } from '../../clients/registry.js';
import type { FlowDeps, Logger } from '../../flow/deps.js';
import { SYSTEM_ACTOR } from '../../flow/metadata.js';
import type { EventStore } from '../../store/types.js';
import { PROJECTION, type ClientHealthState } from '../projectionStates.js';
import type { ProjectionReader } from '../reader.js';
import { periodic, type Worker } from './periodic.js';

export interface StaleClientWorkerOptions {
  store: EventStore;
  /** The embedded projector or EventStoreDB's projections (`client-health`). */
  reader: ProjectionReader;
  clock?: Clock;
  /** Default 30 s; 0 = no timer. */
  intervalMs?: number;
  logger?: Logger;
}

/**
 * Carries out the `client-health` projection's `stale` decisions: appends
 * `ClientRegistrationDiscarded` (reason `stale`) so the next attempt registers afresh.
 * `discardClient` appends with the expected revision it read and only while the stream still
 * holds that very client as live, so replicas racing on one registration discard it once.
 */
export function startStaleClientWorker(options: StaleClientWorkerOptions): Worker {
  const clock = options.clock ?? systemClock;
  // discardClient reads and appends through `deps.store` only.
  const deps = { store: options.store } as FlowDeps;
  const pass = async (): Promise<number> => {
    const state = await options.reader.getState<ClientHealthState>(PROJECTION.clientHealth);
    if (!state) return 0;
    let appended = 0;
    for (const r of Object.values(state.registrations)) {
      if (!r.stale || r.status !== 'registered' || r.clientId === null) continue;
      const ctx = { now: clock.now(), correlationId: `stale-client-${r.registrationKey}`, actor: SYSTEM_ACTOR };
      if (await discardClient(deps, r.registrationKey, r.clientId, 'stale', ctx)) appended++;
    }
    return appended;
  };
  return periodic(pass, { intervalMs: options.intervalMs ?? 30_000, name: 'stale-client-worker', ...(options.logger ? { logger: options.logger } : {}) });
}
