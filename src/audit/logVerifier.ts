import { decodeEvent } from '../flow/catalogue.js';
import { ClientEventSchemas } from '../clients/events.js';
import { ConnectionEventSchemas } from '../flow/connectionEvents.js';
import { categoryOf, CLIENT_CATEGORY, CONNECTION_CATEGORY, FLOW_CATEGORY, GRANT_CATEGORY } from '../flow/streams.js';
import { GrantEventSchemas } from '../grants/events.js';
import type { RecordedEvent } from '../store/types.js';
import { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomaly.js';
import { decodeAnomaly } from './decodeAnomaly.js';
import { newFlowTrack, stepFlow, type FlowTrack } from './flowStep.js';

const FLOW_PREFIX = `${FLOW_CATEGORY}-`;

const TYPES_OF: Record<string, ReadonlySet<string>> = {
  [CONNECTION_CATEGORY]: new Set(Object.keys(ConnectionEventSchemas)),
  [CLIENT_CATEGORY]: new Set(Object.keys(ClientEventSchemas)),
  [GRANT_CATEGORY]: new Set(Object.keys(GrantEventSchemas)),
};

export interface VerifierOptions {
  /**
   * Most flows kept in memory at once. A flow is dropped as soon as it reaches a final
   * state; beyond this many unfinished ones the least recently active is evicted and, should
   * it ever show up again, rebuilt by reading its stream prefix. Memory is therefore bounded
   * by this cap, not by the size of the log.
   */
  maxOpenFlows?: number;
  /** Anomalies kept in the summary (all are counted and passed to `onAnomaly`). */
  keepAnomalies?: number;
  onAnomaly?: (a: Anomaly) => void;
}

/** Counts and findings of a replay. */
export interface VerificationSummary {
  events: number;
  /** Events per category: flow, connection, client, grant, other (not the engine's). */
  byCategory: Record<string, number>;
  flows: {
    /** Flow streams that started (revision 0 seen). */
    started: number;
    /** Flows that reached each final state. */
    ended: Record<string, number>;
    /** Flows not final at the end of the log (pending or exchanging, or evicted unfinished). */
    open: number;
  };
  anomalies: number;
  anomaliesByKind: Record<AnomalyKind, number>;
  /** The first `keepAnomalies` anomalies, in log order. */
  firstAnomalies: Anomaly[];
  /** Flow tracks rebuilt from the store after eviction (a sign `maxOpenFlows` is small). */
  rebuilds: number;
}

/** The verdict on one event: `miss` means the verifier needs the stream's prefix first. */
export type VerifyStep = 'ok' | 'anomaly' | 'miss';

/**
 * Incremental whole-log checker. Feed it `$all` in order; it keeps a {@link FlowTrack} per
 * unfinished flow only. A flow's events all live in its own stream and nothing may follow a
 * final state, so a finished flow is forgotten at once: any later event of that stream finds
 * no track, and an unknown flow whose event is not revision 0 is a `miss`, for which the
 * caller reads the stream prefix (`restore`) and steps again. That path is taken only for
 * anomalies (events after the end, gaps) and for evicted flows, so it costs nothing on a
 * healthy log, and memory never grows with the log: no set of finished ids is needed.
 *
 * Connection, client and grant streams are checked for decodability and membership only:
 * they never end, so tracking their revisions would grow with the number of streams.
 */
export class LogVerifier {
  readonly #open = new Map<string, FlowTrack>();
  readonly #max: number;
  readonly #keep: number;
  readonly #onAnomaly: ((a: Anomaly) => void) | undefined;
  readonly summary: VerificationSummary;

  constructor(options: VerifierOptions = {}) {
    this.#max = options.maxOpenFlows ?? 50_000;
    this.#keep = options.keepAnomalies ?? 1_000;
    this.#onAnomaly = options.onAnomaly;
    this.summary = {
      events: 0,
      byCategory: { flow: 0, connection: 0, client: 0, grant: 0, other: 0 },
      flows: { started: 0, ended: {}, open: 0 },
      anomalies: 0,
      anomaliesByKind: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>,
      firstAnomalies: [],
      rebuilds: 0,
    };
  }

  /** Flows currently held in memory. */
  get openFlows(): number {
    return this.#open.size;
  }

  /** Checks one event. On `miss` nothing was counted: call {@link restore}, then `step` again. */
  step(e: RecordedEvent): VerifyStep {
    // Most events are flow events: a prefix test spares slicing out the category.
    const category = e.streamId.startsWith(FLOW_PREFIX) ? FLOW_CATEGORY : categoryOf(e.streamId);
    if (category === FLOW_CATEGORY) return this.#stepFlow(e);
    this.summary.events++;
    const types = TYPES_OF[category];
    if (!types) {
      this.summary.byCategory.other!++;
      return 'ok';
    }
    this.summary.byCategory[category]!++;
    const r = decodeEvent(e);
    if (!r.ok) return this.#report(decodeAnomaly(e, r.error));
    if (!types.has(e.type)) {
      return this.#report({ kind: 'misplaced_event', stream: e.streamId, revision: e.revision.toString(), type: e.type, message: `${e.type} does not belong in a ${category} stream` });
    }
    return 'ok';
  }

  /**
   * Rebuilds a flow's track from its stored prefix (revisions before the missed event), with
   * anomaly reporting off: those events were judged when they went by.
   */
  restore(streamId: string, prefix: Iterable<RecordedEvent>): void {
    const track = newFlowTrack();
    for (const e of prefix) stepFlow(track, e);
    this.summary.rebuilds++;
    this.#remember(streamId, track);
  }

  /** Ends the run: flows that started and never ended are counted as open. */
  finish(): VerificationSummary {
    const ended = Object.values(this.summary.flows.ended).reduce((a, b) => a + b, 0);
    this.summary.flows.open = Math.max(0, this.summary.flows.started - ended);
    this.#open.clear();
    return this.summary;
  }

  #stepFlow(e: RecordedEvent): VerifyStep {
    let track = this.#open.get(e.streamId);
    if (!track) {
      if (e.revision !== 0n) return 'miss';
      track = newFlowTrack();
      this.summary.flows.started++;
      this.#remember(e.streamId, track);
    } else {
      // Map order is insertion order: re-inserting keeps the least recently active first.
      this.#open.delete(e.streamId);
      this.#open.set(e.streamId, track);
    }
    this.summary.events++;
    this.summary.byCategory.flow!++;
    // A clean end is forgotten at once, so its final snapshot need not be built (see stepFlow).
    const result = stepFlow(track, e, true);
    const value = result.ended;
    if (value !== null) {
      this.summary.flows.ended[value] = (this.summary.flows.ended[value] ?? 0) + 1;
      // Keep a final track only while it explains an anomaly; a clean end is forgotten now.
      if (result.anomalies.length === 0) this.#open.delete(e.streamId);
    }
    if (result.anomalies.length === 0) return 'ok';
    for (const a of result.anomalies) this.#report(a);
    return 'anomaly';
  }

  #remember(streamId: string, track: FlowTrack): void {
    this.#open.set(streamId, track);
    if (this.#open.size > this.#max) {
      this.#open.delete(this.#open.keys().next().value as string);
    }
  }

  #report(a: Anomaly): 'anomaly' {
    this.summary.anomalies++;
    this.summary.anomaliesByKind[a.kind]++;
    if (this.summary.firstAnomalies.length < this.#keep) this.summary.firstAnomalies.push(a);
    this.#onAnomaly?.(a);
    return 'anomaly';
  }
}
