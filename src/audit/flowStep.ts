import { decodeEvent, type DomainEvent } from '../flow/catalogue.js';
import { FLOW_EVENT_TYPES } from '../flow/events.js';
import { asMachineEvent, evolve, initialFlowSnapshot, isFinal, type FlowSnapshot } from '../flow/evolve.js';
import { flowMachine, MACHINE_VERSION, type FlowMachineEvent, type FlowStateValue } from '../flow/machine.js';
import type { RecordedEvent } from '../store/types.js';
import type { Anomaly, AnomalyKind } from './anomaly.js';
import { decodeAnomaly } from './decodeAnomaly.js';

const FLOW_TYPES: ReadonlySet<string> = new Set(FLOW_EVENT_TYPES);

/**
 * What replay keeps per flow stream: the folded snapshot, the last revision seen (for gap
 * detection), and whether an undecodable event made the rest of the stream unjudgeable.
 */
export interface FlowTrack {
  snapshot: FlowSnapshot;
  lastRevision: bigint | null;
  /**
   * Set after an event this engine cannot decode (future version, invalid payload): the
   * fold no longer reflects what the writer saw, so later events are not judged for
   * legality (that would report a cascade of false illegal transitions). Decoding and
   * revision checks still run.
   */
  tainted: boolean;
}

export const newFlowTrack = (): FlowTrack => ({ snapshot: initialFlowSnapshot, lastRevision: null, tainted: false });

export interface StepResult {
  /** The event was accepted by the machine (false for anomalies and tainted streams). */
  legal: boolean;
  anomalies: Anomaly[];
  decoded: DomainEvent | null;
  /** The final state this event took the flow to; null when the flow did not end here. */
  ended: FlowStateValue | null;
}

const anomaly = (kind: AnomalyKind, e: RecordedEvent, message: string): Anomaly => ({
  kind,
  stream: e.streamId,
  revision: e.revision.toString(),
  type: e.type,
  message,
});

const NO_ANOMALIES: Anomaly[] = [];

/**
 * Folds one recorded event of a flow stream into `track` (mutated in place: replay keeps
 * thousands of tracks and allocates nothing else per event on the happy path) and judges it:
 * revision continuity, decodability, machine version, the machine's verdict, and whether the
 * flow had already ended. An illegal event leaves the state unchanged, as it would for the
 * command handler that should never have appended it.
 *
 * With `skipFinalSnapshot`, a clean event (no anomaly) that the machine accepts into a final
 * state is judged by the machine's own transition selection, guards included, and the final
 * snapshot is not built: `ended` names the state and `track` is left as it was. That is for a
 * caller that drops the track right away (the whole-log verifier forgets finished flows, and
 * rebuilds one through the full fold if anything ever follows); the final transition is the
 * costliest of a flow's and its snapshot would be thrown away unread.
 */
export function stepFlow(track: FlowTrack, e: RecordedEvent, skipFinalSnapshot = false): StepResult {
  // No closure per call: this runs once per flow event of a whole-log replay.
  let anomalies = NO_ANOMALIES;

  const last = track.lastRevision;
  const expected = last === null ? 0n : last + 1n;
  if (e.revision !== expected) {
    anomalies = push(anomalies, anomaly('revision_gap', e, `expected revision ${expected}, found ${e.revision}`));
  }
  if (last === null || e.revision > last) track.lastRevision = e.revision;

  const before = track.snapshot.value as FlowStateValue;
  const ended = isFinal(before);
  if (ended) anomalies = push(anomalies, anomaly('event_after_final', e, `${e.type} after the flow reached ${before}`));

  if (!FLOW_TYPES.has(e.type)) {
    const r = decodeEvent(e);
    anomalies = push(anomalies, r.ok ? anomaly('misplaced_event', e, `${e.type} does not belong in a flow stream`) : decodeAnomaly(e, r.error));
    return { legal: false, anomalies, decoded: null, ended: null };
  }
  const r = decodeEvent(e);
  if (!r.ok) {
    track.tainted = true;
    anomalies = push(anomalies, decodeAnomaly(e, r.error));
    return { legal: false, anomalies, decoded: null, ended: null };
  }
  const decoded = r.event;
  if (decoded.metadata.machineVersion > MACHINE_VERSION) {
    track.tainted = true;
    anomalies = push(anomalies, anomaly('future_machine_version', e, `written by flow machine v${decoded.metadata.machineVersion}; this engine has v${MACHINE_VERSION}`));
    return { legal: false, anomalies, decoded, ended: null };
  }
  if (track.tainted || ended) return { legal: false, anomalies, decoded, ended: null };

  const event = asMachineEvent(decoded);
  if (skipFinalSnapshot && anomalies === NO_ANOMALIES) {
    const target = finalTargetOf(track.snapshot, event);
    if (target !== null) return { legal: true, anomalies, decoded, ended: target };
  }
  const next = evolve(track.snapshot, event);
  if (next === track.snapshot) {
    anomalies = push(anomalies, anomaly('illegal_transition', e, `${e.type} is not legal in state ${before}`));
    return { legal: false, anomalies, decoded, ended: null };
  }
  track.snapshot = next;
  const after = next.value as FlowStateValue;
  return { legal: true, anomalies, decoded, ended: isFinal(after) ? after : null };
}

/**
 * For each state, the event types with at least one transition into a final state, read from
 * the machine's own definition (its state nodes' transitions): a pre-filter for
 * {@link finalTargetOf}, never a verdict.
 */
const MAY_END: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.values(flowMachine.root.states).map((node) => [
    node.key,
    new Set([...node.transitions].filter(([, ts]) => ts.some((t) => t.target?.some((n) => n.type === 'final'))).map(([type]) => type)),
  ]),
);

/**
 * The final state the machine would take `snapshot` to on `event`, from its own transition
 * selection (`getTransitionData`: the same candidates and guards `transition()` uses), or
 * null when it selects nothing or a transition that does not end the flow. A selected
 * transition into another state always yields a new snapshot, so "selected" is "legal" here.
 */
function finalTargetOf(snapshot: FlowSnapshot, event: FlowMachineEvent): FlowStateValue | null {
  // Most events cannot end a flow in the state at hand; asking the machine costs allocations.
  if (!MAY_END.get(snapshot.value as string)?.has(event.type)) return null;
  const selected = flowMachine.getTransitionData(snapshot, event);
  if (selected.length !== 1) return null;
  const target = selected[0]!.target;
  if (target === undefined || target.length !== 1 || target[0]!.type !== 'final') return null;
  return target[0]!.key as FlowStateValue;
}

/** Appends to a result's anomalies, replacing the shared empty list by a fresh one first. */
function push(anomalies: Anomaly[], a: Anomaly): Anomaly[] {
  const out = anomalies === NO_ANOMALIES ? [] : anomalies;
  out.push(a);
  return out;
}
