import { handleCommand } from './commandHandler.js';
import type { FlowDeps } from './deps.js';
import { foldFlow } from './evolve.js';
import { decideFlow } from './decide.js';
import { readConnection } from './startFlow.js';
import { flowStream } from './streams.js';

export interface CancelResult {
  success: boolean;
  flowId?: string;
  message: string;
}

/** Cancels the user's pending attempt for a server. Idempotent: nothing pending, nothing appended. */
export async function cancelFlow(deps: FlowDeps, input: { userId: string; serverName: string; correlationId: string }): Promise<CancelResult> {
  const conn = await readConnection(deps, input.userId, input.serverName);
  if (!conn.current) return { success: false, message: 'No OAuth flow to cancel' };
  const flowId = conn.current.flowId;
  const ctx = { now: deps.clock.now(), correlationId: input.correlationId, actor: input.userId };
  const r = await handleCommand(deps.store, flowStream(flowId), foldFlow, (f) => decideFlow({ type: 'CancelFlow', reason: 'user_cancelled' }, f, ctx));
  return r.appended.length
    ? { success: true, flowId, message: 'OAuth flow cancelled' }
    : { success: false, flowId, message: 'No pending OAuth flow to cancel' };
}
