import test from 'ava';
import { getFlowHistory } from '../../../src/audit/flowHistory.js';
import { HASH_MARKER, SEALED_MARKER, redactData } from '../../../src/audit/redact.js';
import { goldenNames, loadGolden } from '../../support/goldenLog.js';
import { goldenStore, lastAt } from './_goldenStore.js';

/** Every string leaf of a value (to collect sealed ciphertexts and hashes from fixtures). */
function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) leaves(v, out);
  return out;
}

/** The values a history must never show: sealed envelopes' fields and *Hash values. */
function forbiddenValues(data: unknown, out: string[] = []): string[] {
  if (!data || typeof data !== 'object') return out;
  for (const [k, v] of Object.entries(data)) {
    if (v && typeof v === 'object' && 'kid' in v && 'ct' in v) out.push(...leaves(v).filter((s) => s.length >= 16));
    else if (/Hash$/.test(k) && typeof v === 'string') out.push(v);
    else forbiddenValues(v, out);
  }
  return out;
}

for (const name of goldenNames()) {
  test(`history of every flow in "${name}" shows no secret, ciphertext or hash`, async (t) => {
    const { store, log } = await goldenStore(name);
    try {
      const forbidden = [...log.secrets, ...log.events.flatMap((e) => forbiddenValues(e.data))];
      t.true(log.secrets.length >= 4, 'the generator recorded the secrets it handed out');
      for (const flowId of Object.values(log.flows)) {
        const h = await getFlowHistory(store, flowId, { now: lastAt(log) });
        const json = JSON.stringify(h);
        t.true(json.includes(SEALED_MARKER));
        t.true(json.includes(HASH_MARKER));
        for (const secret of forbidden) t.false(json.includes(secret), `leaked ${secret.slice(0, 12)}… in ${flowId}`);
        t.false(/golden-(access|refresh)-token|golden-client-secret|golden-verifier/.test(json));
      }
    } finally {
      await store.close();
    }
  });
}

test('the golden logs themselves hold no plaintext secret (sealed and hashed at the source)', (t) => {
  for (const name of goldenNames()) {
    const log = loadGolden(name);
    const events = JSON.stringify(log.events);
    for (const secret of log.secrets) t.false(events.includes(secret), `${name}: ${secret.slice(0, 12)}…`);
  }
});

test('a history lists every event with its state after, status after, actor and legality', async (t) => {
  const { store, log } = await goldenStore('success');
  try {
    const h = (await getFlowHistory(store, log.flows.main!, { now: lastAt(log) }))!;
    t.like(h, { flowId: log.flows.main, userId: 'alice', serverName: 'golden', state: 'completed', status: 'COMPLETED' });
    t.deepEqual(
      h.events.map((e) => [e.revision, e.type, e.stateAfter, e.statusAfter, e.actor, e.legal, e.schemaVersion, e.machineVersion]),
      [
        ['0', 'FlowInitiated', 'pending', 'PENDING', 'alice', true, 1, 1],
        ['1', 'BrowserBound', 'pending', 'PENDING', 'alice', true, 1, 1],
        ['2', 'CodeExchangeStarted', 'exchanging', 'PENDING', 'alice', true, 1, 1],
        ['3', 'FlowCompleted', 'completed', 'COMPLETED', 'alice', true, 1, 1],
      ],
    );
    t.true(h.events.every((e) => typeof e.at === 'string' && typeof e.correlationId === 'string' && e.anomaly === undefined));
  } finally {
    await store.close();
  }
});

test('history --at shows only the events up to that moment and the state as of then', async (t) => {
  const { store, log } = await goldenStore('success');
  try {
    const flowId = log.flows.main!;
    const full = (await getFlowHistory(store, flowId))!;
    const exchangeAt = new Date(full.events[2]!.at!);
    const before = (await getFlowHistory(store, flowId, { at: new Date(exchangeAt.getTime() - 1) }))!;
    t.deepEqual(before.events.map((e) => e.type), ['FlowInitiated', 'BrowserBound']);
    t.is(before.state, 'pending');
    t.is(before.status, 'PENDING');
    t.is(before.userId, 'alice');
    const atEnd = (await getFlowHistory(store, flowId, { at: exchangeAt }))!;
    t.is(atEnd.state, 'completed', 'FlowCompleted was decided in the same instant as the exchange claim');
  } finally {
    await store.close();
  }
});

test('history --at after the expiry of a still-pending moment reads EXPIRED', async (t) => {
  const { store, log } = await goldenStore('expired');
  try {
    const flowId = log.flows.expired!;
    const full = (await getFlowHistory(store, flowId))!;
    const initiated = Date.parse(full.events[0]!.at!);
    const h = (await getFlowHistory(store, flowId, { at: new Date(initiated + 10 * 60_000 + 10_000) }))!;
    t.deepEqual(h.events.map((e) => e.type), ['FlowInitiated']);
    t.is(h.state, 'pending');
    t.is(h.status, 'EXPIRED', 'past expiresAt, before the FlowExpired event was recorded');
  } finally {
    await store.close();
  }
});

test('history of an unknown flow, or as of a moment before it began, is null', async (t) => {
  const { store, log } = await goldenStore('cancelled');
  try {
    t.is(await getFlowHistory(store, 'no-such-flow-0000000'), null);
    t.is(await getFlowHistory(store, log.flows.main!, { at: new Date('2020-01-01T00:00:00Z') }), null);
  } finally {
    await store.close();
  }
});

test('redaction replaces sealed values, hashes and secret-named fields, deep inside arrays too', (t) => {
  const input = {
    client: { clientId: 'c', clientSecret: { v: 1, kid: 'k', iv: 'i', ct: 'c', tag: 't' } },
    stateHash: 'abc',
    list: [{ refreshToken: 'plain-refresh' }, { v: 2, kid: 'k2' }],
    code: 'plain-code',
    tokenEndpoint: 'https://as/token',
  };
  t.deepEqual(redactData(input), {
    client: { clientId: 'c', clientSecret: '[sealed]' },
    stateHash: '[hash]',
    list: [{ refreshToken: '[redacted]' }, '[sealed]'],
    code: '[redacted]',
    tokenEndpoint: 'https://as/token',
  });
  t.is(input.code, 'plain-code', 'input untouched');
});
