import { systemClock, type Clock } from '../clock.js';
import type { ConnectionStatusView, Queries } from '../flow/queries.js';
import { flowStatusView, type FlowStatusView } from '../flow/status.js';
import { flowStream, userServerKey } from '../flow/streams.js';
import { PROJECTION, type ConnectionState, type FlowStatusState } from './projectionStates.js';
import type { Projector } from './projector.js';

export interface ProjectionQueriesOptions {
  clock?: Clock;
  /**
   * How long a query waits for the projections to reach the log's head as read at call time
   * (read-your-writes). Past it the query fails with `store_unavailable` rather than answer
   * from a state that may not show the caller's own append. Default 2000 ms.
   */
  waitMs?: number;
}

/** The same view `streamQueries` builds from the machine, from the projected state. */
function toView(s: FlowStatusState, nowMs: number): FlowStatusView | null {
  if (s.state === 'new') return null;
  return flowStatusView({
    flowId: s.flowId!,
    userId: s.userId!,
    serverName: s.serverName!,
    value: s.state,
    expiresAt: Date.parse(s.expiresAt!),
    error: s.error,
    initiatedAt: s.initiatedAt,
    endedAt: s.endedAt,
  }, nowMs);
}

/**
 * {@link Queries} answered from projection state (`flow-status`, `connections`) instead of
 * reading streams. Each answer first waits until the projections have applied everything in
 * the log when the query started, so a route that appended an event and then queries sees it.
 *
 * Use with `createEngine({ queries: (deps) => projectionQueries(projector, { clock: deps.clock }) })`.
 */
export function projectionQueries(projector: Projector, options: ProjectionQueriesOptions = {}): Queries {
  const clock = options.clock ?? systemClock;
  const waitMs = options.waitMs ?? 2000;
  const flowView = async (flowId: string): Promise<FlowStatusView | null> => {
    const s = await projector.getState<FlowStatusState>(PROJECTION.flowStatus, flowStream(flowId));
    return s ? toView(s, clock.now().getTime()) : null;
  };
  return {
    async flowStatus(flowId) {
      await projector.catchUp(waitMs, [PROJECTION.flowStatus]);
      return flowView(flowId);
    },
    async connectionStatus(userId, serverName): Promise<ConnectionStatusView> {
      await projector.catchUp(waitMs, [PROJECTION.connections, PROJECTION.flowStatus]);
      const c = await projector.getState<ConnectionState>(PROJECTION.connections, userServerKey(userId, serverName));
      const flowId = c?.flowId ?? undefined;
      const flow = flowId ? await flowView(flowId) : null;
      const hasGrant = c?.grant === true;
      if (flow?.status === 'PENDING') return { connectionState: 'connecting', requiresOAuth: true, flowId: flowId! };
      if (hasGrant) return { connectionState: 'connected', requiresOAuth: true, ...(flowId ? { flowId } : {}) };
      if (flow?.status === 'FAILED') return { connectionState: 'error', requiresOAuth: true, error: flow.error ?? 'callback_failed', flowId: flowId! };
      return { connectionState: 'disconnected', requiresOAuth: true, ...(flowId ? { flowId } : {}) };
    },
  };
}
