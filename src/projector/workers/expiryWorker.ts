import { systemClock, type Clock } from '../../clock.js';
import { handleCommand } from '../../flow/commandHandler.js';
import { decideFlow } from '../../flow/decide.js';
import type { Logger } from '../../flow/deps.js';
import { foldFlow } from '../../flow/evolve.js';
import { EXCHANGE_GRACE_MS } from '../../flow/machine.js';
import { SYSTEM_ACTOR } from '../../flow/metadata.js';
import { flowStream } from '../../flow/streams.js';
import type { EventStore } from '../../store/types.js';
import { PROJECTION, type ExpiryState } from '../projectionStates.js';
import type { ProjectionReader } from '../reader.js';
import { periodic, type Worker } from './periodic.js';

export interface ExpiryWorkerOptions {
  store: EventStore;
  /** The embedded projector or EventStoreDB's projections (`expiry`). */
  reader: ProjectionReader;
  clock?: Clock;
  /** Default 5 s; 0 = no timer. */
  intervalMs?: number;
  logger?: Logger;
}

/** When the machine (v2) takes a `FlowExpired` for this open flow. */
function dueAt(flow: ExpiryState['open'][string]): number {
  const expires = Date.parse(flow.expiresAt);
  // A state from before the projection recorded exchange starts has none: expiresAt then.
  return flow.state === 'exchanging' && flow.exchangeStartedAt ? Math.max(expires, Date.parse(flow.exchangeStartedAt) + EXCHANGE_GRACE_MS) : expires;
}

/**
 * Appends `FlowExpired` for open flows past their `expiresAt` (mid-exchange, also past the
 * exchange's grace: the machine refuses one earlier), as the `expiry` projection lists them.
 * Exactly once across replicas: each expiry goes through the flow's command handler, which
 * folds the stream through the machine and appends at the revision read. The machine's guard
 * refuses an expiry before its time (whatever the projection says), and a replica that loses
 * the race re-reads, finds the flow final and appends nothing.
 */
export function startExpiryWorker(options: ExpiryWorkerOptions): Worker {
  const clock = options.clock ?? systemClock;
  const pass = async (): Promise<number> => {
    const state = await options.reader.getState<ExpiryState>(PROJECTION.expiry);
    if (!state) return 0;
    const now = clock.now();
    let appended = 0;
    for (const flow of Object.values(state.open)) {
      if (dueAt(flow) > now.getTime()) continue;
      const ctx = { now, correlationId: `expiry-${flow.flowId}`, actor: SYSTEM_ACTOR };
      const r = await handleCommand(options.store, flowStream(flow.flowId), foldFlow, (s) => decideFlow({ type: 'ExpireFlow' }, s, ctx));
      appended += r.appended.length;
    }
    return appended;
  };
  return periodic(pass, { intervalMs: options.intervalMs ?? 5_000, name: 'expiry-worker', ...(options.logger ? { logger: options.logger } : {}) });
}
