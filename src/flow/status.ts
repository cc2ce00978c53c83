import type { FlowContext, FlowStateValue } from './machine.js';

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
 * EXPIRED, before the expiry worker records `FlowExpired`.
 */
export function flowStatusOf(value: FlowStateValue, context: FlowContext, nowMs: number): FlowStatus {
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
    default:
      return nowMs >= context.expiresAt ? 'EXPIRED' : 'PENDING';
  }
}
