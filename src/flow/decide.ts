import type { EventData } from '../store/types.js';
import { evolve, toFlowState, type FlowSnapshot, type FlowState } from './evolve.js';
import type { FlowEventData } from './events.js';
import type { FlowMachineEvent } from './machine.js';
import type { EventMetadata } from './metadata.js';
import { newEvent, type CommandContext } from './newEvent.js';

/**
 * Commands on one flow stream. `decideFlow` turns a command and the flow's state into the
 * events to append; it is pure (time and ids arrive in the command and its context).
 */
export type FlowCommand =
  | { type: 'InitiateFlow'; data: FlowEventData<'FlowInitiated'>; reused?: FlowEventData<'ClientReused'> }
  | { type: 'BindBrowser'; bindingHash: string }
  | { type: 'RecordCallbackError'; error: string; errorDescription?: string }
  | { type: 'StartExchange'; exchangeId: string; codeHash: string }
  | { type: 'CompleteExchange'; data: FlowEventData<'FlowCompleted'> }
  | { type: 'RejectClient'; data: FlowEventData<'ClientRejected'> }
  | { type: 'FailFlow'; data: FlowEventData<'FlowFailed'> }
  | { type: 'CancelFlow'; reason?: string }
  | { type: 'ExpireFlow' }
  /** Ends an attempt a newer one replaces: expired when its time is up, superseded otherwise. */
  | { type: 'EndReplacedFlow'; by: string };

type Proposal = Array<[string, unknown]>;

/**
 * Pending and not past expiry, judged at the command's time: an attempt another browser may
 * join. One whose code is being exchanged is not (the machine takes no binding there).
 */
export const isLiveAt = (s: FlowState, nowMs: number): boolean => s.value === 'pending' && nowMs < s.context.expiresAt;

function propose(command: FlowCommand, state: FlowState, nowMs: number): Proposal {
  const c = state.context;
  switch (command.type) {
    case 'InitiateFlow':
      return command.reused ? [['FlowInitiated', command.data], ['ClientReused', command.reused]] : [['FlowInitiated', command.data]];
    case 'BindBrowser':
      return isLiveAt(state, nowMs) ? [['BrowserBound', { bindingHash: command.bindingHash }]] : [];
    case 'RecordCallbackError':
      return nowMs < c.expiresAt
        ? [['CallbackErrored', { error: command.error, ...(command.errorDescription ? { errorDescription: command.errorDescription } : {}) }]]
        : [];
    case 'StartExchange':
      return nowMs < c.expiresAt ? [['CodeExchangeStarted', { exchangeId: command.exchangeId, codeHash: command.codeHash }]] : [];
    case 'CompleteExchange':
      return [['FlowCompleted', command.data]];
    case 'RejectClient':
      return [['ClientRejected', command.data]];
    case 'FailFlow':
      return [['FlowFailed', command.data]];
    case 'CancelFlow':
      return [['FlowCancelled', command.reason ? { reason: command.reason } : {}]];
    case 'ExpireFlow':
      return [['FlowExpired', { expiresAt: new Date(c.expiresAt).toISOString() }]];
    case 'EndReplacedFlow':
      return nowMs >= c.expiresAt
        ? [['FlowExpired', { expiresAt: new Date(c.expiresAt).toISOString() }]]
        : [['FlowSuperseded', { by: command.by }]];
  }
}

/**
 * Decides which events a command appends. The machine is the judge of legality: a proposed
 * event that leaves the snapshot unchanged is illegal in this state, and then the command
 * appends nothing (callers read the state to learn why). Never throws for domain reasons.
 */
export function decideFlow(command: FlowCommand, state: FlowState, ctx: CommandContext): EventData[] {
  return decideFlowState(command, state, ctx).events;
}

/**
 * {@link decideFlow}, also returning the snapshot its events lead to (the machine computed it
 * to judge them): a caller that appends them knows the flow's next state without folding the
 * events a second time.
 */
export function decideFlowState(command: FlowCommand, state: FlowState, ctx: CommandContext): { events: EventData[]; snapshot: FlowSnapshot } {
  const proposal = propose(command, state, ctx.now.getTime());
  const events = proposal.map(([type, data]) => newEvent(type, data, ctx));
  let snapshot = state.snapshot;
  for (const e of events) {
    const next = evolve(snapshot, { type: e.type, data: e.data, metadata: e.metadata as EventMetadata } as FlowMachineEvent);
    if (next === snapshot) return { events: [], snapshot: state.snapshot };
    snapshot = next;
  }
  return { events, snapshot };
}

/** The state after a decision, without re-reading (for tests and callers that need it). */
export function applyDecision(state: FlowState, events: EventData[], revisionAfter: bigint | null): FlowState {
  let snapshot = state.snapshot;
  for (const e of events) snapshot = evolve(snapshot, { type: e.type, data: e.data, metadata: e.metadata } as FlowMachineEvent);
  return toFlowState(snapshot, revisionAfter);
}

