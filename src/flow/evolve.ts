import { createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import { decodeOrThrow, type DomainEvent } from './catalogue.js';
import { FINAL_STATES, flowMachine, type FlowContext, type FlowMachineEvent, type FlowStateValue } from './machine.js';
import type { RecordedEvent } from '../store/types.js';
import { compileFlowSteps, stepFlowSnapshot } from './flowSteps.js';

export type FlowSnapshot = SnapshotFrom<typeof flowMachine>;

/**
 * One inert actor scope reused for every fold. xstate's `transition()` builds a fresh actor
 * (and initial snapshot) per call, which costs ~16 of its ~21 µs here (perf-anchors §4); the
 * flow machine spawns no children and runs no actions, so sharing a scope changes nothing but
 * the speed. `evolveStrict` uses the public `transition()` and the tests check both agree.
 */
const scope = (() => {
  const self = createActor(flowMachine);
  return {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: () => {},
  };
})();

type Transition = (snapshot: FlowSnapshot, event: FlowMachineEvent, actorScope: unknown) => FlowSnapshot;
const machineTransition = flowMachine.transition.bind(flowMachine) as unknown as Transition;

export const initialFlowSnapshot: FlowSnapshot = initialTransition(flowMachine)[0];

/** The machine's transitions as a table (null: the machine outgrew it, fold through xstate). */
const steps = compileFlowSteps();

/**
 * Folds one event. Returns the same object when the event is not legal in this state. Runs
 * the table read from the machine's definition ({@link stepFlowSnapshot}); the tests hold it
 * to xstate's public `transition()` on legal and illegal events alike.
 */
export function evolve(snapshot: FlowSnapshot, event: FlowMachineEvent): FlowSnapshot {
  return steps !== null ? stepFlowSnapshot(steps, snapshot, event) : evolveWithXstate(snapshot, event);
}

/** The same fold through xstate's own `transition()` with the shared inert scope. */
export function evolveWithXstate(snapshot: FlowSnapshot, event: FlowMachineEvent): FlowSnapshot {
  return machineTransition(snapshot, event, scope);
}

/** True when {@link evolve} runs the table (for the tests that compare it with xstate). */
export const evolvesByTable = steps !== null;

/** The same fold through xstate's public pure `transition()` (the reference for tests). */
export function evolveStrict(snapshot: FlowSnapshot, event: FlowMachineEvent): FlowSnapshot {
  return transition(flowMachine, snapshot, event)[0];
}

export function asMachineEvent(e: DomainEvent): FlowMachineEvent {
  return { type: e.type, data: e.data, metadata: e.metadata } as FlowMachineEvent;
}

/** A flow's state: the fold of its stream, and the revision it was read at. */
export interface FlowState {
  snapshot: FlowSnapshot;
  /** Revision of the last event read, or null when the stream does not exist. */
  revision: bigint | null;
  value: FlowStateValue;
  context: FlowContext;
}

export function toFlowState(snapshot: FlowSnapshot, revision: bigint | null): FlowState {
  return { snapshot, revision, value: snapshot.value as FlowStateValue, context: snapshot.context };
}

export function foldFlow(events: Iterable<DomainEvent>): FlowState {
  let s = initialFlowSnapshot;
  let revision: bigint | null = null;
  for (const e of events) {
    s = evolve(s, asMachineEvent(e));
    revision = e.revision;
  }
  return toFlowState(s, revision);
}

export function foldRecorded(events: Iterable<RecordedEvent>): FlowState {
  return foldFlow([...events].map(decodeOrThrow));
}

export const isFinal = (value: FlowStateValue): boolean => FINAL_STATES.has(value);
