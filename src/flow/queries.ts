import type { FlowDeps } from './deps.js';
import { readFlow } from './pollFlow.js';
import { readConnection } from './startFlow.js';
import { flowStatusView, type FlowStatusView } from './status.js';
import { grantConnectionView } from '../grants/connectionView.js';

export type ConnectionState = 'connected' | 'disconnected' | 'connecting' | 'error';

/** Per server, the shape of `GET /api/mcp/connection/status` (architecture §6). */
export interface ConnectionStatusView {
  connectionState: ConnectionState;
  requiresOAuth: boolean;
  error?: string;
  flowId?: string;
}

/**
 * Read side of the engine. The default answers from streams (always consistent, one read per
 * stream); the projector supplies an implementation answering from projection state.
 */
export interface Queries {
  flowStatus(flowId: string): Promise<FlowStatusView | null>;
  connectionStatus(userId: string, serverName: string): Promise<ConnectionStatusView>;
}

export function streamQueries(deps: FlowDeps): Queries {
  return {
    async flowStatus(flowId) {
      const flow = await readFlow(deps, flowId);
      if (flow.value === 'new') return null;
      const c = flow.context;
      return flowStatusView({ ...c, flowId, userId: c.userId!, serverName: c.serverName!, value: flow.value }, deps.clock.now().getTime());
    },
    async connectionStatus(userId, serverName) {
      const grant = await grantConnectionView(deps, userId, serverName);
      const conn = await readConnection(deps, userId, serverName);
      const flowId = conn.current?.flowId;
      const flow = flowId ? await this.flowStatus(flowId) : null;
      if (flow?.status === 'PENDING') return { connectionState: 'connecting', requiresOAuth: true, flowId: flowId! };
      if (grant.error) return { connectionState: 'error', requiresOAuth: true, error: grant.error, ...(flowId ? { flowId } : {}) };
      if (grant.hasGrant) return { connectionState: 'connected', requiresOAuth: true, ...(flowId ? { flowId } : {}) };
      if (flow?.status === 'FAILED') return { connectionState: 'error', requiresOAuth: true, error: flow.error ?? 'callback_failed', flowId: flowId! };
      return { connectionState: 'disconnected', requiresOAuth: true, ...(flowId ? { flowId } : {}) };
    },
  };
}
