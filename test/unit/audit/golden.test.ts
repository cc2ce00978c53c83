import test from 'ava';
import { replayAll, replayFlow } from '../../../src/audit/replay.js';
import { flowStream } from '../../../src/flow/streams.js';
import { goldenNames } from '../../support/goldenLog.js';
import { goldenStore, lastAt } from './_goldenStore.js';

/**
 * Golden logs are histories written by an earlier version of the engine. Whatever the engine
 * becomes, they must replay to exactly these outcomes with no anomaly (architecture §2.6).
 * The expectations live here, not in the fixtures: regenerating a fixture cannot move them.
 */
const EXPECTED: Record<string, Record<string, { state: string; status: string; error: string | null; types: string[] }>> = {
  success: {
    main: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'BrowserBound', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
  consentDenied: {
    main: { state: 'failed', status: 'FAILED', error: 'access_denied', types: ['FlowInitiated', 'CallbackErrored'] },
  },
  clientRejected: {
    first: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted'] },
    rejected: { state: 'failed', status: 'FAILED', error: 'client_rejected', types: ['FlowInitiated', 'ClientReused', 'CodeExchangeStarted', 'ClientRejected'] },
    retry: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
  expired: {
    expired: { state: 'expired', status: 'EXPIRED', error: 'flow_expired', types: ['FlowInitiated', 'FlowExpired'] },
    retry: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'ClientReused', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
  cancelled: {
    main: { state: 'cancelled', status: 'CANCELLED', error: 'flow_cancelled', types: ['FlowInitiated', 'FlowCancelled'] },
  },
  superseded: {
    superseded: { state: 'superseded', status: 'CANCELLED', error: 'flow_superseded', types: ['FlowInitiated', 'FlowSuperseded'] },
    replacement: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'ClientReused', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
  duplicateCallbacks: {
    main: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
  // Written by flow machine v2: the mid-exchange expiry after the exchange grace.
  stuckExchange: {
    stuck: { state: 'expired', status: 'EXPIRED', error: 'flow_expired', types: ['FlowInitiated', 'CodeExchangeStarted', 'FlowExpired'] },
    retry: { state: 'completed', status: 'COMPLETED', error: null, types: ['FlowInitiated', 'ClientReused', 'CodeExchangeStarted', 'FlowCompleted'] },
  },
};

test('every committed golden log has expectations and every expectation has a log', (t) => {
  t.deepEqual(goldenNames(), Object.keys(EXPECTED).sort());
});

for (const [name, flows] of Object.entries(EXPECTED)) {
  test(`golden log "${name}" replays to the recorded outcomes with no anomaly`, async (t) => {
    const { store, log } = await goldenStore(name);
    try {
      t.deepEqual(Object.keys(log.flows).sort(), Object.keys(flows).sort());
      const all = await replayAll(store);
      t.is(all.anomalies, 0, JSON.stringify(all.firstAnomalies));
      t.is(all.events, log.events.length);
      t.is(all.flows.open, 0);
      for (const [label, want] of Object.entries(flows)) {
        const flowId = log.flows[label]!;
        const r = await replayFlow(store, flowId, { now: lastAt(log) });
        t.truthy(r, label);
        t.deepEqual({ state: r!.state, status: r!.status, error: r!.error }, { state: want.state, status: want.status, error: want.error }, label);
        t.deepEqual(log.events.filter((e) => e.stream === flowStream(flowId)).map((e) => e.type), want.types, label);
      }
    } finally {
      await store.close();
    }
  });
}

test('the client-rejected log discards the rejected registration and registers afresh', async (t) => {
  const { store, log } = await goldenStore('clientRejected');
  await store.close();
  const client = log.events.filter((e) => e.stream.startsWith('client-')).map((e) => e.type);
  t.deepEqual(client, ['ClientRegistrationStarted', 'ClientRegistered', 'ClientRegistrationDiscarded', 'ClientRegistrationStarted', 'ClientRegistered']);
});

test('the duplicate-callbacks log holds exactly one code exchange and one grant', async (t) => {
  const { store, log } = await goldenStore('duplicateCallbacks');
  await store.close();
  t.is(log.events.filter((e) => e.type === 'CodeExchangeStarted').length, 1);
  t.is(log.events.filter((e) => e.type === 'TokensIssued').length, 1);
});
