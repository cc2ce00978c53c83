import { EXCHANGE_GRACE_MS, type FlowContext, type FlowStateValue } from './machine.js';

/** The status names of the HTTP contract (`GET /api/mcp/oauth/status/:flowId`). */
export type FlowStatus = 'PENDING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

export interface FlowStatusView {
  flowId: string;
  userId: string;
  serverName: string;
  status: FlowStatus;
  error: string | null;
  initiatedAt: string | null;
  endedAt: string | null;
  expiresAt: string;
}

/**
 * Status of a flow from its machine state. A pending flow past its expiry already reads as
 * EXPIRED, before the expiry worker records `FlowExpired`. One whose code is being exchanged
 * may still complete past its expiry (machine v2's exchange grace, counted from the exchange's
 * start, which came before the expiry): it reads PENDING until the grace past the expiry.
 */
export function flowStatusOf(value: FlowStateValue, context: Pick<FlowContext, 'expiresAt'>, nowMs: number): FlowStatus {
  switch (value) {
    case 'completed':
      return 'COMPLETED';
    case 'failed':
      return 'FAILED';
    case 'cancelled':
    case 'superseded':
      return 'CANCELLED';
    case 'expired':
      return 'EXPIRED';
    case 'exchanging':
      return nowMs >= context.expiresAt + EXCHANGE_GRACE_MS ? 'EXPIRED' : 'PENDING';
    default:
      return nowMs >= context.expiresAt ? 'EXPIRED' : 'PENDING';
  }
}

/** What a status view is built from: the machine's context, or the `flow-status` projection's state. */
export interface FlowStatusFacts {
  flowId: string;
  userId: string;
  serverName: string;
  value: FlowStateValue;
  /** Epoch ms. */
  expiresAt: number;
  error: string | null;
  initiatedAt: string | null;
  endedAt: string | null;
}

/** The one way a flow's status view is derived, whichever read side supplies the facts. */
export function flowStatusView(f: FlowStatusFacts, nowMs: number): FlowStatusView {
  const status = flowStatusOf(f.value, f, nowMs);
  return {
    flowId: f.flowId,
    userId: f.userId,
    serverName: f.serverName,
    status,
    error: status === 'PENDING' || status === 'COMPLETED' ? null : status === 'EXPIRED' ? 'flow_expired' : f.error,
    initiatedAt: f.initiatedAt,
    endedAt: f.endedAt,
    expiresAt: new Date(f.expiresAt).toISOString(),
  };
}
