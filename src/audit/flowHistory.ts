import { decodeEvent } from '../flow/catalogue.js';
import { flowStatusOf, type FlowStatus } from '../flow/status.js';
import { flowStream } from '../flow/streams.js';
import type { FlowStateValue } from '../flow/machine.js';
import { StreamNotFoundError } from '../store/errors.js';
import type { EventStore, RecordedEvent } from '../store/types.js';
import type { Anomaly } from './anomaly.js';
import { newFlowTrack, stepFlow } from './flowStep.js';
import { redactData } from './redact.js';

/** One event of a flow's audit timeline. */
export interface HistoryEntry {
  revision: string;
  type: string;
  /** ISO time the event was decided (metadata `at`), or null when the metadata is unreadable. */
  at: string | null;
  actor: string | null;
  correlationId: string | null;
  /** The schema version the event was written with (`data` is shown upcast to the current one). */
  schemaVersion: number | null;
  machineVersion: number | null;
  /** The payload with sealed values, hashes and secret-named fields replaced by markers. */
  data: unknown;
  /** Machine state after folding this event (unchanged when the event was not legal). */
  stateAfter: FlowStateValue;
  /** Status as the HTTP contract names it, as of this event's time. */
  statusAfter: FlowStatus;
  /** The machine accepted the event. */
  legal: boolean;
  /** Present when replay found something wrong with this event (first anomaly if several). */
  anomaly?: Anomaly;
}

/** A flow's audit timeline (`flowctl history`, `GET /api/mcp/flows/:flowId/history`). */
export interface FlowHistory {
  flowId: string;
  /** Owner of the flow (from `FlowInitiated`, whatever `at` says); null for a malformed stream. */
  userId: string | null;
  serverName: string | null;
  /** Status at `at`, or now. */
  status: FlowStatus;
  /** Machine state at `at`, or after the last event. */
  state: FlowStateValue;
  /** Only events up to `at` when given. */
  events: HistoryEntry[];
}

export interface HistoryOptions {
  /** Show the flow as of this moment: events decided later are left out. */
  at?: Date;
  /** "Now" for the status of a still-pending flow (defaults to the wall clock). */
  now?: Date;
}

const metaField = <T>(e: RecordedEvent, key: string, kind: 'string' | 'number'): T | null => {
  const m = e.metadata as Record<string, unknown> | null;
  const v = m && typeof m === 'object' ? m[key] : undefined;
  return typeof v === kind ? (v as T) : null;
};

/** The owner recorded by `FlowInitiated` (always revision 0 in a well-formed stream). */
function ownerOf(first: RecordedEvent): { userId: string | null; serverName: string | null } {
  if (first.type !== 'FlowInitiated') return { userId: null, serverName: null };
  const r = decodeEvent(first);
  if (!r.ok) return { userId: null, serverName: null };
  return { userId: String(r.event.data.userId), serverName: String(r.event.data.serverName) };
}

/**
 * Replays one flow through the machine and returns its readable timeline, every payload
 * redacted. Resolves to null when the flow does not exist (the HTTP layer answers 404, and
 * also for other users' flows: compare `userId`), and when `at` precedes the flow's first
 * event. Reads the one stream; never throws on a
 * malformed log: anomalies are attached to the events they concern.
 */
export async function getFlowHistory(store: EventStore, flowId: string, options: HistoryOptions = {}): Promise<FlowHistory | null> {
  const recorded: RecordedEvent[] = [];
  try {
    for await (const e of store.readStream(flowStream(flowId))) recorded.push(e);
  } catch (err) {
    if (err instanceof StreamNotFoundError) return null;
    throw err;
  }
  if (recorded.length === 0) return null;

  const atMs = options.at?.getTime();
  const owner = ownerOf(recorded[0]!);
  const track = newFlowTrack();
  const events: HistoryEntry[] = [];
  for (const e of recorded) {
    const eventAt = metaField<string>(e, 'at', 'string');
    const eventMs = eventAt === null ? NaN : Date.parse(eventAt);
    // Events are appended in decision order, so the first one past `at` ends the timeline.
    if (atMs !== undefined && !(eventMs <= atMs)) break;
    const step = stepFlow(track, e);
    const value = track.snapshot.value as FlowStateValue;
    events.push({
      revision: e.revision.toString(),
      type: e.type,
      at: eventAt,
      actor: metaField<string>(e, 'actor', 'string'),
      correlationId: metaField<string>(e, 'correlationId', 'string'),
      schemaVersion: metaField<number>(e, 'schemaVersion', 'number'),
      machineVersion: metaField<number>(e, 'machineVersion', 'number'),
      data: redactData(step.decoded ? step.decoded.data : e.data),
      stateAfter: value,
      statusAfter: flowStatusOf(value, track.snapshot.context, Number.isNaN(eventMs) ? 0 : eventMs),
      legal: step.legal,
      ...(step.anomalies[0] ? { anomaly: step.anomalies[0] } : {}),
    });
  }
  // As of a moment before its initiation the flow did not exist: same answer as unknown.
  if (events.length === 0) return null;
  const state = track.snapshot.value as FlowStateValue;
  const statusAt = atMs ?? (options.now ?? new Date()).getTime();
  return {
    flowId,
    ...owner,
    status: flowStatusOf(state, track.snapshot.context, statusAt),
    state,
    events,
  };
}
