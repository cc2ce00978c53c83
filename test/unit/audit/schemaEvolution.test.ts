/**
 * The worked example of docs/schema-evolution.md, run as a test. It registers a v2 of
 * `FlowCancelled` in the module-global catalogue, so it lives in its own file: ava runs each
 * file in its own process, and no other test sees the extra version.
 */
import test from 'ava';
import { z } from 'zod';
import { getFlowHistory } from '../../../src/audit/flowHistory.js';
import { replayAll, replayFlow } from '../../../src/audit/replay.js';
import { currentSchemaVersion, decodeEvent, registerSchemaVersion } from '../../../src/flow/catalogue.js';
import { newEvent } from '../../../src/flow/newEvent.js';
import { MACHINE_VERSION } from '../../../src/flow/machine.js';
import { flowStream } from '../../../src/flow/streams.js';
import { goldenStore, lastAt } from './_goldenStore.js';

// --- the example: FlowCancelled v2 splits the free-text reason into a code and a note ---
const FlowCancelledV2 = z.object({
  reasonCode: z.enum(['user_cancelled', 'admin_cancelled', 'other']),
  note: z.string().max(200).optional(),
});
registerSchemaVersion('FlowCancelled', 2, FlowCancelledV2, (v1) => {
  const reason = typeof v1.reason === 'string' ? v1.reason : undefined;
  const known = reason === 'user_cancelled' || reason === 'admin_cancelled';
  return { reasonCode: known ? reason : 'other', ...(reason && !known ? { note: reason } : {}) };
});
// -----------------------------------------------------------------------------------------

test('new events are written at the registered version', (t) => {
  t.is(currentSchemaVersion('FlowCancelled'), 2);
  const e = newEvent('FlowCancelled', { reasonCode: 'admin_cancelled' }, { now: new Date(0), correlationId: 'c', actor: 'admin' });
  t.like(e.metadata, { schemaVersion: 2, machineVersion: MACHINE_VERSION });
  t.throws(() => newEvent('FlowCancelled', { reason: 'user_cancelled' }, { now: new Date(0), correlationId: 'c', actor: 'u' }), { message: /Invalid FlowCancelled payload/ });
});

test('the v1 golden log replays through the upcaster to the same outcome, with no anomaly', async (t) => {
  const { store, log } = await goldenStore('cancelled');
  try {
    const all = await replayAll(store);
    t.is(all.anomalies, 0);
    const flowId = log.flows.main!;
    const r = await replayFlow(store, flowId, { now: lastAt(log) });
    t.like(r, { state: 'cancelled', status: 'CANCELLED', error: 'flow_cancelled' });
    const h = (await getFlowHistory(store, flowId))!;
    const cancelled = h.events.find((e) => e.type === 'FlowCancelled')!;
    t.deepEqual(cancelled.data, { reasonCode: 'user_cancelled' }, 'shown in the current shape');
    t.is(cancelled.schemaVersion, 1, 'as written');
  } finally {
    await store.close();
  }
});

test('a v2 event and a v1 event with an unknown reason both decode to v2', (t) => {
  const base = { streamId: flowStream('f'), id: 'i', revision: 1n, position: { commit: 1n, prepare: 1n }, type: 'FlowCancelled', created: new Date(0) };
  const metadata = (schemaVersion: number) => ({ at: '2026-01-01T00:00:00.000Z', schemaVersion, machineVersion: 1, correlationId: 'c', actor: 'u' });
  const v1 = decodeEvent({ ...base, data: { reason: 'browser closed' }, metadata: metadata(1) });
  const v2 = decodeEvent({ ...base, data: { reasonCode: 'other', note: 'browser closed' }, metadata: metadata(2) });
  t.true(v1.ok && v2.ok);
  if (v1.ok && v2.ok) t.deepEqual(v1.event.data, v2.event.data);
});

test('an event from a version after the registered one is still reported as future', async (t) => {
  const { store, log } = await goldenStore('success');
  try {
    const flowId = log.flows.main!;
    await store.appendToStream(flowStream(flowId), {
      type: 'FlowCancelled',
      data: { reasonCode: 'other', why: 'v3 shape' },
      metadata: { at: '2026-01-15T12:00:00.000Z', schemaVersion: 3, machineVersion: 1, correlationId: 'c', actor: 'u' },
    });
    const r = await replayFlow(store, flowId);
    t.deepEqual(r!.anomalies.map((a) => a.kind), ['event_after_final', 'future_schema_version']);
  } finally {
    await store.close();
  }
});
