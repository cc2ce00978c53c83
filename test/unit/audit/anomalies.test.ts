import test from 'ava';
import { getFlowHistory } from '../../../src/audit/flowHistory.js';
import { LogVerifier } from '../../../src/audit/logVerifier.js';
import { replayAll, replayFlow } from '../../../src/audit/replay.js';
import { flowStream } from '../../../src/flow/streams.js';
import type { EventStore } from '../../../src/store/types.js';
import { loadGolden, toRecorded } from '../../support/goldenLog.js';
import { goldenStore } from './_goldenStore.js';

const meta = (at: string, extra: Record<string, unknown> = {}) => ({ at, schemaVersion: 1, machineVersion: 1, correlationId: 'tamper', actor: 'mallory', ...extra });

/** Appends one hand-made event at the end of a flow's stream (what an attacker or a bug would do). */
async function tamper(store: EventStore, flowId: string, type: string, data: unknown, metadata: unknown = meta('2026-01-15T12:00:00.000Z')) {
  await store.appendToStream(flowStream(flowId), { type, data, metadata }, { expectedRevision: 'stream_exists' });
}

test('FlowCompleted appended to a pending flow without an exchange claim is an illegal transition, named by stream and revision', async (t) => {
  const { store, log } = await goldenStore('success');
  try {
    // The success flow at revision 1 is pending; forge a flow that skips the claim.
    const forged = loadGolden('success').events.filter((e) => e.stream === flowStream(log.flows.main!)).slice(0, 1);
    const flowId = 'forgedForgedForged01';
    await store.appendToStream(flowStream(flowId), [{ type: forged[0]!.type, data: { ...(forged[0]!.data as object), flowId }, metadata: forged[0]!.metadata }]);
    await tamper(store, flowId, 'FlowCompleted', { exchangeId: 'x', grantRevision: '0' });
    const r = await replayAll(store);
    t.is(r.anomalies, 1);
    t.like(r.firstAnomalies[0], { kind: 'illegal_transition', stream: flowStream(flowId), revision: '1', type: 'FlowCompleted' });
    const one = await replayFlow(store, flowId);
    t.is(one!.state, 'pending', 'an illegal event changes nothing');
    const h = await getFlowHistory(store, flowId);
    t.like(h!.events[1], { type: 'FlowCompleted', legal: false, stateAfter: 'pending', anomaly: { kind: 'illegal_transition' } });
  } finally {
    await store.close();
  }
});

test('an event after a final state is reported even though the finished flow was already forgotten', async (t) => {
  const { store, log } = await goldenStore('cancelled');
  try {
    await tamper(store, log.flows.main!, 'CodeExchangeStarted', { exchangeId: 'late', codeHash: 'A'.repeat(43) });
    const seen: string[] = [];
    const r = await replayAll(store, { onAnomaly: (a) => seen.push(`${a.kind} ${a.stream}@${a.revision}`) });
    t.deepEqual(seen, [`event_after_final ${flowStream(log.flows.main!)}@2`]);
    t.is(r.rebuilds, 1, 'the stream prefix was re-read to judge it');
    t.is(r.flows.ended.cancelled, 1);
  } finally {
    await store.close();
  }
});

test('unknown types, invalid payloads and future schema versions are reported, not crashed on', async (t) => {
  const { store, log } = await goldenStore('consentDenied');
  try {
    const flowId = log.flows.main!;
    const conn = log.events.find((e) => e.stream.startsWith('connection-'))!.stream;
    await store.appendToStream(conn, { type: 'ConnectionTeleported', data: {}, metadata: meta('2026-01-15T12:00:00.000Z') });
    await store.appendToStream(conn, { type: 'ConnectionAttemptStarted', data: { flowId: 42 }, metadata: meta('2026-01-15T12:00:00.000Z') });
    await store.appendToStream(conn, { type: 'ConnectionAttemptStarted', data: {}, metadata: meta('2026-01-15T12:00:00.000Z', { schemaVersion: 99 }) });
    const granted = loadGolden('success').events.find((e) => e.type === 'TokensIssued')!;
    await store.appendToStream(conn, { type: 'TokensIssued', data: granted.data, metadata: granted.metadata });
    await tamper(store, flowId, 'FlowCancelled', {}, meta('2026-01-15T12:00:00.000Z', { schemaVersion: 7 }));
    await tamper(store, flowId, 'FlowCancelled', {}, meta('2026-01-15T12:00:00.000Z', { machineVersion: 9 }));
    const r = await replayAll(store);
    t.like(r.anomaliesByKind, { unknown_event_type: 1, invalid_event_payload: 1, misplaced_event: 1, future_schema_version: 2, future_machine_version: 1 });
    t.is(r.anomaliesByKind.event_after_final, 2, 'the flow had ended with CallbackErrored');
    t.true(r.firstAnomalies.some((a) => a.kind === 'future_schema_version' && a.stream === flowStream(flowId) && a.revision === '2'));
    t.true(r.firstAnomalies.some((a) => a.kind === 'invalid_event_payload' && a.message.includes('flowId')));
    t.true(r.firstAnomalies.some((a) => a.type === 'TokensIssued' && a.kind === 'misplaced_event' && a.stream === conn));
  } finally {
    await store.close();
  }
});

test('a known type in the wrong kind of stream is a misplaced event', (t) => {
  const v = new LogVerifier();
  const granted = loadGolden('success').events.find((e) => e.type === 'TokensIssued')!;
  t.is(v.step(toRecorded({ ...granted, stream: 'connection-abc', revision: '0' }, 1)), 'anomaly');
  t.like(v.finish().firstAnomalies[0], { kind: 'misplaced_event', stream: 'connection-abc', revision: '0' });
});

test('a revision gap in a flow stream is reported with the revision expected', (t) => {
  const log = loadGolden('success');
  const flow = log.events.filter((e) => e.stream === flowStream(log.flows.main!));
  const v = new LogVerifier();
  t.is(v.step(toRecorded(flow[0]!, 1)), 'ok');
  t.is(v.step(toRecorded(flow[2]!, 2)), 'anomaly');
  const s = v.finish();
  t.like(s.firstAnomalies[0], { kind: 'revision_gap', revision: '2', message: 'expected revision 1, found 2' });
});

test('a flow evicted under memory pressure is rebuilt from its stream and judged the same', async (t) => {
  const log = loadGolden('expired');
  const { store } = await goldenStore('expired');
  try {
    const tight = await replayAll(store, { maxOpenFlows: 1 });
    const roomy = await replayAll(store);
    t.is(tight.anomalies, 0);
    t.true(tight.rebuilds > 0, 'the two interleaved flows did not fit');
    t.deepEqual(tight.flows, roomy.flows);
    t.is(tight.events, log.events.length);
  } finally {
    await store.close();
  }
});

test('a tainted flow (undecodable event) is not judged further, so one bad event is one anomaly', async (t) => {
  const { store, log } = await goldenStore('success');
  try {
    const flowId = 'taintedTaintedTaint1';
    const first = log.events.find((e) => e.type === 'FlowInitiated')!;
    await store.appendToStream(flowStream(flowId), [
      { type: 'FlowInitiated', data: { ...(first.data as object), flowId }, metadata: first.metadata },
      { type: 'CodeExchangeStarted', data: { exchangeId: 'e' }, metadata: meta('2026-01-15T10:00:30.000Z') },
      { type: 'FlowCompleted', data: { exchangeId: 'e', grantRevision: '0' }, metadata: meta('2026-01-15T10:00:31.000Z') },
    ]);
    const r = await replayFlow(store, flowId);
    t.deepEqual(r!.anomalies.map((a) => `${a.kind}@${a.revision}`), ['invalid_event_payload@1']);
  } finally {
    await store.close();
  }
});
