/**
 * Writes the golden logs in `test/fixtures/golden/`: complete histories produced by the REAL
 * engine (`createEngine`), so that `test/unit/audit/golden.test.ts` can replay them forever
 * and fail when a later version folds them differently (architecture §2, principle 6).
 *
 *   node --import tsx test/support/generateGolden.ts
 *
 * Run it only on purpose (a new scenario, or a deliberate new event version written next to
 * the old fixtures): it writes the scenarios named on its command line, else only those
 * without a fixture yet, so older fixtures keep the version that wrote them. Tests never
 * regenerate fixtures. Everything that would vary between runs
 * is pinned: a manual clock, counter-based randomness, a deterministic sealer and fixed event
 * ids, so regenerating an unchanged engine rewrites identical bytes, but for the tokens
 * sealed under a grant's data key (a random key, by design), and a diff elsewhere means the
 * engine's output changed.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createEngine, type Engine } from '../../src/engine.js';
import type { Clock, Random } from '../../src/clock.js';
import { EngineError, ErrorCode } from '../../src/errors.js';
import type { Sealer } from '../../src/flow/deps.js';
import type { SealedValue } from '../../src/flow/sealed.js';
import type { CallbackOutcome } from '../../src/flow/handleCallback.js';
import type { ClientIdentity, DiscoveryResult, OAuthDriver, TokenSet } from '../../src/oauth/types.js';
import { handleCommand, readDomainEvents } from '../../src/flow/commandHandler.js';
import { decideFlow } from '../../src/flow/decide.js';
import { foldFlow } from '../../src/flow/evolve.js';
import { SYSTEM_ACTOR } from '../../src/flow/metadata.js';
import { flowStream } from '../../src/flow/streams.js';
import { openEventStore } from '../../src/store/openEventStore.js';
import type { EventStore } from '../../src/store/types.js';
import { GOLDEN_DIR, type GoldenEvent, type GoldenLog } from './goldenLog.js';

const ISSUER = 'https://auth.golden.example';
const SERVER = 'golden';
const TTL_MS = 600_000;
const START = Date.parse('2026-01-15T10:00:00.000Z');

/** A clock the scenario moves by hand. */
class ManualClock implements Clock {
  #ms = START;
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** Counter-based randomness: the n-th token of a run is always the same. */
function counterRandom(seed: string): Random {
  let n = 0;
  return {
    token: (bytes = 32) => createHash('sha256').update(`${seed}:token:${n++}`).digest().subarray(0, Math.min(bytes, 32)).toString('base64url'),
    uuid: () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`,
  };
}

/**
 * A deterministic stand-in for `createSealer` (src/crypto/sealer.ts): same envelope shape and
 * AES-256-GCM with the AAD, but a synthetic IV (HMAC of AAD and plaintext) instead of a random
 * one, so fixtures are byte-stable. Never use a synthetic IV outside fixtures: it reveals when
 * two plaintexts are equal.
 */
function deterministicSealer(): Sealer {
  const key = createHash('sha256').update('golden fixture key (not a secret)').digest();
  const kid = createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
  return {
    seal(plaintext, aad): SealedValue {
      const iv = createHmac('sha256', key).update(aad).update('\0').update(plaintext).digest().subarray(0, 12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { v: 1, kid, iv: iv.toString('base64url'), ct: ct.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') };
    },
    open(sealed, aad) {
      const s = sealed as unknown as { iv: string; ct: string; tag: string };
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64url'), { authTagLength: 16 });
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(Buffer.from(s.tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(s.ct, 'base64url')), d.final()]).toString('utf8');
    },
  };
}

/**
 * A deterministic in-memory authorization server behind the `OAuthDriver` port. This is the
 * one place a fake driver is right: golden logs pin the engine's event shapes and outcomes,
 * not protocol fidelity (the integration tests run the real driver against oidc-provider).
 * Codes starting with `reject` are refused with `invalid_client`; everything else succeeds.
 * Every secret it hands out is recorded so the tests can prove none leaks into audit output.
 */
function goldenDriver(secrets: Set<string>): OAuthDriver {
  let clients = 0;
  let grants = 0;
  const discovery: DiscoveryResult = {
    resource: 'https://mcp.golden.example/mcp',
    issuer: ISSUER,
    authorizationEndpoint: `${ISSUER}/authorize`,
    tokenEndpoint: `${ISSUER}/token`,
    registrationEndpoint: `${ISSUER}/register`,
    issParameterSupported: true,
    clientIdMetadataDocumentSupported: false,
    tokenEndpointAuthMethodsSupported: ['client_secret_basic'],
    grantTypesSupported: ['authorization_code', 'refresh_token'],
    scope: 'mcp:tools',
    metadata: { issuer: ISSUER },
  };
  return {
    discover: async () => ({ ...discovery }),
    async resolveClient({ redirectUri }): Promise<ClientIdentity> {
      clients++;
      const clientSecret = `golden-client-secret-${clients}`;
      secrets.add(clientSecret);
      return { clientId: `golden-client-${clients}`, clientSecret, kind: 'dcr', tokenEndpointAuthMethod: 'client_secret_basic', redirectUris: [redirectUri], issuer: ISSUER };
    },
    async startAuthorization({ state, client, redirectUri }) {
      const codeVerifier = `golden-verifier-${createHash('sha256').update(state).digest('base64url')}`;
      const url = new URL(discovery.authorizationEndpoint);
      url.search = new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: redirectUri, state, code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'), code_challenge_method: 'S256' }).toString();
      secrets.add(codeVerifier).add(state).add(url.href);
      return { authorizationUrl: url.href, codeVerifier };
    },
    async exchangeCode({ code }): Promise<TokenSet> {
      // Long enough for a duplicate callback to arrive while the exchange is in flight.
      await new Promise((r) => setTimeout(r, 25));
      // The claimant's process dies mid-exchange: no answer ever comes back.
      if (code.startsWith('hang')) return new Promise<never>(() => undefined);
      if (code.startsWith('reject')) {
        throw new EngineError(ErrorCode.TOKEN_REQUEST_FAILED, 'client authentication failed', { details: { oauthError: 'invalid_client', status: 401 } });
      }
      grants++;
      const tokens = { accessToken: `golden-access-token-${grants}`, refreshToken: `golden-refresh-token-${grants}`, tokenType: 'Bearer', expiresAt: START + 86_400_000, scope: 'mcp:tools' };
      secrets.add(tokens.accessToken).add(tokens.refreshToken);
      return tokens;
    },
    refresh: async () => {
      throw new Error('not used by the golden scenarios');
    },
    revoke: async () => false,
  };
}

interface Harness {
  engine: Engine;
  clock: ManualClock;
  store: EventStore;
  secrets: Set<string>;
  flows: Record<string, string>;
  start(label: string, userId: string, forceNew?: boolean): Promise<{ flowId: string; state: string; bindingSecret: string }>;
  callback(userId: string, p: { state: string; bindingSecret: string; code?: string; error?: string }): Promise<CallbackOutcome>;
}

async function harness(scenario: string): Promise<Harness> {
  const store = await openEventStore('sqlite::memory:');
  const clock = new ManualClock();
  const secrets = new Set<string>();
  const engine = createEngine({
    store,
    config: { publicUrl: 'https://app.golden.example', flowTtlMs: TTL_MS, servers: { [SERVER]: { url: 'https://mcp.golden.example/mcp' } } },
    driver: goldenDriver(secrets),
    sealer: deterministicSealer(),
    clock,
    random: counterRandom(scenario),
  });
  let correlation = 0;
  const flows: Record<string, string> = {};
  return {
    engine,
    clock,
    store,
    secrets,
    flows,
    async start(label, userId, forceNew) {
      const started = await engine.startFlow({ userId, serverName: SERVER, correlationId: `${scenario}-${++correlation}`, ...(forceNew ? { forceNew } : {}) });
      const state = new URL(started.authorizationUrl).searchParams.get('state')!;
      secrets.add(started.bindingSecret);
      if (!started.joined) flows[label] = started.flowId;
      return { flowId: started.flowId, state, bindingSecret: started.bindingSecret };
    },
    async callback(_userId, p) {
      if (p.code) secrets.add(p.code);
      return engine.handleCallback({ serverName: SERVER, state: p.state, bindingSecret: p.bindingSecret, iss: ISSUER, correlationId: `${scenario}-${++correlation}`, ...(p.code ? { code: p.code } : {}), ...(p.error ? { error: p.error } : {}) });
    },
  };
}

const SECOND = 1_000;

/** Each scenario drives the engine the way the HTTP routes would, and checks its outcomes. */
const SCENARIOS: Record<string, { description: string; run(h: Harness): Promise<void> }> = {
  success: {
    description: 'Dynamic registration, a second tab joins the pending attempt, the callback exchanges the code.',
    async run(h) {
      const a = await h.start('main', 'alice');
      h.clock.advance(2 * SECOND);
      const tab = await h.start('tab', 'alice');
      expect(tab.flowId === a.flowId, 'second tab joins');
      h.clock.advance(20 * SECOND);
      const out = await h.callback('alice', { state: a.state, bindingSecret: tab.bindingSecret, code: 'golden-code-success' });
      expect(out.ok, 'completes');
    },
  },
  consentDenied: {
    description: 'The user refuses consent: the authorization server redirects back with error=access_denied.',
    async run(h) {
      const a = await h.start('main', 'bob');
      h.clock.advance(15 * SECOND);
      const out = await h.callback('bob', { state: a.state, bindingSecret: a.bindingSecret, error: 'access_denied' });
      expect(!out.ok && out.error === 'access_denied', 'access_denied');
    },
  },
  clientRejected: {
    description: 'A registration reused by a second user is rejected (invalid_client), discarded, and the retry registers afresh.',
    async run(h) {
      const c = await h.start('first', 'carol');
      h.clock.advance(10 * SECOND);
      expect((await h.callback('carol', { state: c.state, bindingSecret: c.bindingSecret, code: 'golden-code-carol' })).ok, 'carol completes');
      h.clock.advance(60 * SECOND);
      const d = await h.start('rejected', 'dave');
      h.clock.advance(10 * SECOND);
      const rejected = await h.callback('dave', { state: d.state, bindingSecret: d.bindingSecret, code: 'reject-golden-code-dave' });
      expect(!rejected.ok && rejected.error === 'client_rejected', 'client_rejected');
      h.clock.advance(5 * SECOND);
      const retry = await h.start('retry', 'dave');
      expect(retry.flowId !== d.flowId, 'retry is a new attempt');
      h.clock.advance(10 * SECOND);
      expect((await h.callback('dave', { state: retry.state, bindingSecret: retry.bindingSecret, code: 'golden-code-dave-2' })).ok, 'retry completes');
    },
  },
  expired: {
    description: 'The user never returns; a late callback is refused, the next start records FlowExpired and succeeds.',
    async run(h) {
      const e = await h.start('expired', 'erin');
      h.clock.advance(TTL_MS + 30 * SECOND);
      const late = await h.callback('erin', { state: e.state, bindingSecret: e.bindingSecret, code: 'golden-code-late' });
      expect(!late.ok && late.error === 'flow_expired', 'late callback: flow_expired');
      const retry = await h.start('retry', 'erin');
      h.clock.advance(10 * SECOND);
      expect((await h.callback('erin', { state: retry.state, bindingSecret: retry.bindingSecret, code: 'golden-code-erin' })).ok, 'retry completes');
    },
  },
  cancelled: {
    description: 'The user cancels the pending attempt; a callback arriving afterwards is refused.',
    async run(h) {
      const f = await h.start('main', 'frank');
      h.clock.advance(30 * SECOND);
      expect((await h.engine.cancelFlow({ userId: 'frank', serverName: SERVER, correlationId: 'cancelled-cancel' })).success, 'cancelled');
      h.clock.advance(5 * SECOND);
      const late = await h.callback('frank', { state: f.state, bindingSecret: f.bindingSecret, code: 'golden-code-frank' });
      expect(!late.ok && late.error === 'flow_cancelled', 'late callback: flow_cancelled');
    },
  },
  superseded: {
    description: 'The server configuration changed: a forced new start supersedes the pending attempt, which then completes.',
    async run(h) {
      const g = await h.start('superseded', 'grace');
      h.clock.advance(20 * SECOND);
      const next = await h.start('replacement', 'grace', true);
      expect(next.flowId !== g.flowId, 'a new attempt');
      const old = await h.callback('grace', { state: g.state, bindingSecret: g.bindingSecret, code: 'golden-code-grace-old' });
      expect(!old.ok && old.error === 'flow_cancelled', 'old attempt refused');
      h.clock.advance(10 * SECOND);
      expect((await h.callback('grace', { state: next.state, bindingSecret: next.bindingSecret, code: 'golden-code-grace' })).ok, 'replacement completes');
    },
  },
  stuckExchange: {
    description: 'Flow machine v2. The process exchanging the code dies; once the flow expiry and the exchange grace (60 s after the claim) have passed, the expiry worker ends the attempt and the next start completes.',
    async run(h) {
      const s = await h.start('stuck', 'ivan');
      h.clock.advance(10 * SECOND);
      void h.callback('ivan', { state: s.state, bindingSecret: s.bindingSecret, code: 'hang-golden-code-ivan' });
      while (!(await readDomainEvents(h.store, flowStream(s.flowId))).some((e) => e.type === 'CodeExchangeStarted')) await new Promise((r) => setTimeout(r, 5));
      h.clock.advance(TTL_MS);
      const ctx = { now: h.clock.now(), correlationId: 'stuckExchange-expiry', actor: SYSTEM_ACTOR };
      const expired = await handleCommand(h.store, flowStream(s.flowId), foldFlow, (f) => decideFlow({ type: 'ExpireFlow' }, f, ctx));
      expect(expired.appended.length === 1, 'the expiry worker ends the stuck attempt');
      h.clock.advance(5 * SECOND);
      const retry = await h.start('retry', 'ivan');
      expect(retry.flowId !== s.flowId, 'a new attempt');
      h.clock.advance(10 * SECOND);
      expect((await h.callback('ivan', { state: retry.state, bindingSecret: retry.bindingSecret, code: 'golden-code-ivan' })).ok, 'retry completes');
    },
  },
  duplicateCallbacks: {
    description: 'Two callbacks race (double submit, two replicas) and a third comes late: exactly one code exchange.',
    async run(h) {
      const a = await h.start('main', 'heidi');
      h.clock.advance(12 * SECOND);
      const cb = { state: a.state, bindingSecret: a.bindingSecret, code: 'golden-code-heidi' };
      const [one, two] = await Promise.all([h.callback('heidi', cb), h.callback('heidi', cb)]);
      expect(one.ok && two.ok, 'both report success');
      h.clock.advance(3 * SECOND);
      const late = await h.callback('heidi', cb);
      expect(late.ok && late.alreadyCompleted, 'late duplicate sees the completed flow');
    },
  },
};

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`golden scenario went wrong: ${what}`);
}

/** A fixed event id per (scenario, stream, revision): ids would otherwise be random UUIDs. */
function fixedId(scenario: string, stream: string, revision: bigint): string {
  const h = createHash('sha256').update(`${scenario}|${stream}|${revision}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function generate(name: string): Promise<GoldenLog> {
  const scenario = SCENARIOS[name]!;
  const h = await harness(name);
  try {
    await scenario.run(h);
    const events: GoldenEvent[] = [];
    for await (const e of h.store.readAll()) {
      events.push({ stream: e.streamId, revision: e.revision.toString(), id: fixedId(name, e.streamId, e.revision), type: e.type, data: e.data, metadata: e.metadata });
    }
    return { scenario: name, description: scenario.description, flows: h.flows, secrets: [...h.secrets].sort(), events };
  } finally {
    await h.store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The named scenarios, else those without a fixture yet: a fixture is a history an earlier
  // version wrote, and rewriting it would erase what the tests must keep replaying.
  const named = process.argv.slice(2);
  for (const name of named.length ? named : Object.keys(SCENARIOS).filter((n) => !existsSync(`${GOLDEN_DIR}${n}.json`))) {
    const log = await generate(name);
    writeFileSync(`${GOLDEN_DIR}${name}.json`, `${JSON.stringify(log, null, 1)}\n`);
    process.stdout.write(`${name}: ${log.events.length} events\n`);
  }
}
