import { readDomainEvents } from './commandHandler.js';
import type { FlowDeps } from './deps.js';
import { foldFlow, type FlowState } from './evolve.js';
import { flowStream } from './streams.js';

/** A flow as its stream says now: read whole and folded through the machine. */
export async function readFlow(deps: Pick<FlowDeps, 'store'>, flowId: string): Promise<FlowState> {
  return foldFlow(await readDomainEvents(deps.store, flowStream(flowId)));
}

/**
 * Reads a flow until `settled` holds or `waitMs` has passed (then the last read is returned),
 * backing off from 10 ms to 200 ms between reads: for another writer's next step (a creator
 * that has not written its flow yet, a claimant whose code exchange is in flight).
 */
export async function pollFlow(deps: Pick<FlowDeps, 'store'>, flowId: string, settled: (flow: FlowState) => boolean, waitMs: number): Promise<FlowState> {
  const until = Date.now() + waitMs;
  for (let round = 0; ; round++) {
    const flow = await readFlow(deps, flowId);
    if (settled(flow) || Date.now() >= until) return flow;
    await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** round, 200)));
  }
}
