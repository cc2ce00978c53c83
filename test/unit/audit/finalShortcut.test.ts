import test from 'ava';
import { newFlowTrack, stepFlow, type FlowTrack } from '../../../src/audit/flowStep.js';
import type { RecordedEvent } from '../../../src/store/types.js';
import { goldenNames, loadGolden, toRecorded } from '../../support/goldenLog.js';

/**
 * The whole-log verifier lets stepFlow skip building a flow's final snapshot (it forgets the
 * flow at once). These tests hold that shortcut to the full fold: from every state a golden
 * flow passes through, every flow event the goldens contain (plus variants aimed at the
 * guards) gets the same verdict, anomalies and final state either way.
 */

const events = goldenNames().flatMap((n) => loadGolden(n).events).filter((e) => e.stream.startsWith('flow-'));
const streams = [...new Set(events.map((e) => e.stream))];

const copy = (track: FlowTrack): FlowTrack => ({ ...track });

/** Every golden flow event as a candidate for any stream, with guard-relevant variants. */
function candidates(stream: string, revision: bigint, state: FlowTrack): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  const at = (e: (typeof events)[number], data: object, metadata?: object) => ({
    ...toRecorded({ ...e, stream, revision: revision.toString(), data, metadata: metadata ?? e.metadata }, 1),
  });
  for (const e of events) {
    out.push(at(e, e.data as object));
    const data = e.data as Record<string, unknown>;
    // The exchange the flow claimed, and another one (isCurrentExchange).
    if ('exchangeId' in data) {
      out.push(at(e, { ...data, exchangeId: state.snapshot.context.exchangeId ?? 'none' }));
      out.push(at(e, { ...data, exchangeId: 'someone-else' }));
    }
    // Before and long after the flow's expiry (isPastExpiry).
    if (e.type === 'FlowExpired') {
      out.push(at(e, data, { ...(e.metadata as object), at: '2000-01-01T00:00:00.000Z' }));
      out.push(at(e, data, { ...(e.metadata as object), at: '2100-01-01T00:00:00.000Z' }));
    }
  }
  return out;
}

test('from every golden state, the final-snapshot shortcut judges every candidate event as the full fold does', (t) => {
  let compared = 0;
  let shortcuts = 0;
  for (const stream of streams) {
    const track = newFlowTrack();
    const own = events.filter((e) => e.stream === stream).map((e, i) => toRecorded(e, i + 1));
    for (let i = 0; i <= own.length; i++) {
      for (const e of candidates(stream, BigInt(i), track)) {
        const full = copy(track);
        const fast = copy(track);
        const a = stepFlow(full, e);
        const b = stepFlow(fast, e, true);
        t.is(b.legal, a.legal, `${stream}@${i} ${e.type}`);
        t.deepEqual(b.anomalies, a.anomalies, `${stream}@${i} ${e.type}`);
        t.is(b.ended, a.ended, `${stream}@${i} ${e.type}`);
        if (a.ended !== null) t.is(full.snapshot.value, a.ended);
        if (b.ended !== null && fast.snapshot === track.snapshot) shortcuts++;
        else t.is(fast.snapshot.value, full.snapshot.value);
        compared++;
      }
      if (i < own.length) stepFlow(track, own[i]!);
    }
  }
  t.true(compared > 500);
  t.true(shortcuts > 20, 'the shortcut was actually taken');
});

test('a revision gap at the final event takes the full fold, so the kept track explains the anomaly', (t) => {
  const stream = streams.find((s) => events.some((e) => e.stream === s && e.type === 'FlowCompleted'))!;
  const own = events.filter((e) => e.stream === stream).map((e, i) => toRecorded(e, i + 1));
  const track = newFlowTrack();
  for (const e of own.slice(0, -1)) stepFlow(track, e);
  const last = { ...own.at(-1)!, revision: own.at(-1)!.revision + 5n };
  const r = stepFlow(track, last, true);
  t.is(r.ended, 'completed');
  t.is(r.anomalies[0]?.kind, 'revision_gap');
  t.is(track.snapshot.value, 'completed', 'the full snapshot was built');
});
