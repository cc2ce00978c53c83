import { flowStatusOf, type FlowStatus } from '../flow/status.js';
import { flowStream } from '../flow/streams.js';
import type { FlowStateValue } from '../flow/machine.js';
import { StreamNotFoundError } from '../store/errors.js';
import { isBufferedEventIterator, type EventStore, type Position, type RecordedEvent } from '../store/types.js';
import type { Anomaly } from './anomaly.js';
import { newFlowTrack, stepFlow } from './flowStep.js';
import { LogVerifier, type VerificationSummary, type VerifierOptions } from './logVerifier.js';

/** The verdict on one flow (`flowctl replay <flowId>`). */
export interface FlowReplay {
  flowId: string;
  stream: string;
  events: number;
  state: FlowStateValue;
  status: FlowStatus;
  /** Stable error code of a failed/ended flow (`access_denied`, `flow_expired`, ...). */
  error: string | null;
  anomalies: Anomaly[];
}

/**
 * Folds one flow's stream through the machine and checks every stored transition.
 * Resolves to null when the flow does not exist.
 */
export async function replayFlow(store: EventStore, flowId: string, options: { now?: Date } = {}): Promise<FlowReplay | null> {
  const stream = flowStream(flowId);
  const track = newFlowTrack();
  const anomalies: Anomaly[] = [];
  let events = 0;
  try {
    for await (const e of store.readStream(stream)) {
      events++;
      anomalies.push(...stepFlow(track, e).anomalies);
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return null;
    throw err;
  }
  if (events === 0) return null;
  const state = track.snapshot.value as FlowStateValue;
  return {
    flowId,
    stream,
    events,
    state,
    status: flowStatusOf(state, track.snapshot.context, (options.now ?? new Date()).getTime()),
    error: track.snapshot.context.error,
    anomalies,
  };
}

/** Progress of `replayAll`, reported every `progressEvery` events and at the end. */
export interface ReplayProgress {
  events: number;
  /** Position of the last event read. */
  position: Position | null;
  /** Head of `$all` when the replay started (for a fraction and an ETA). */
  head: Position | null;
  /** Flows held in memory right now (bounded by `maxOpenFlows`). */
  openFlows: number;
  anomalies: number;
  elapsedMs: number;
  done: boolean;
}

export interface ReplayAllOptions extends VerifierOptions {
  onProgress?: (p: ReplayProgress) => void;
  progressEvery?: number;
}

export interface ReplayAllResult extends VerificationSummary {
  elapsedMs: number;
}

/**
 * Streams the whole log (`readAll`) through a {@link LogVerifier}: every flow folded through
 * the machine, every stored transition judged, every engine stream decoded. Constant memory:
 * the log is never materialised (the store pages it), finished flows are forgotten at once,
 * and unfinished ones are capped (`maxOpenFlows`) with re-reads for the evicted.
 */
export async function replayAll(store: EventStore, options: ReplayAllOptions = {}): Promise<ReplayAllResult> {
  const verifier = new LogVerifier(options);
  const every = options.progressEvery ?? 10_000;
  const head = await store.headPosition();
  const started = performance.now();
  let position: Position | null = null;
  let n = 0;
  const progress = (done: boolean): void =>
    options.onProgress?.({
      events: n,
      position,
      head,
      openFlows: verifier.openFlows,
      anomalies: verifier.summary.anomalies,
      elapsedMs: performance.now() - started,
      done,
    });
  // Events appended while we replay are left for the next run: stop at the head we saw.
  if (head) {
    const it = store.readAll()[Symbol.asyncIterator]();
    // Events the store has already fetched are taken synchronously: a promise and an
    // iterator result per event were a measurable share of a whole-log replay.
    const buffered = isBufferedEventIterator(it) ? it : undefined;
    // As `for await`: the iterator is closed (`return()`) when we stop early or the loop body
    // throws, not after it ended or threw itself.
    let ended = false;
    try {
      for (;;) {
        let e = buffered?.nextBuffered();
        if (e === undefined) {
          let r: IteratorResult<RecordedEvent>;
          try {
            r = await it.next();
          } catch (err) {
            ended = true;
            throw err;
          }
          if (r.done) {
            ended = true;
            break;
          }
          e = r.value;
        }
        if (e.position.commit > head.commit) break;
        if (verifier.step(e) === 'miss') {
          verifier.restore(e.streamId, await readPrefix(store, e.streamId, e.revision));
          verifier.step(e);
        }
        position = e.position;
        if (++n % every === 0) progress(false);
      }
    } finally {
      if (!ended) await it.return?.();
    }
  }
  progress(true);
  return { ...verifier.finish(), elapsedMs: performance.now() - started };
}

/** The stored events of a stream before `revision` (at most `revision` of them). */
async function readPrefix(store: EventStore, streamId: string, revision: bigint): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  try {
    for await (const e of store.readStream(streamId, { fromRevision: 0n, maxCount: revision })) {
      if (e.revision >= revision) break;
      out.push(e);
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return out;
}
