import test, { type ExecutionContext } from 'ava';
import { readDomainEvents, handleCommand } from '../../../src/flow/commandHandler.js';
import { decideFlow } from '../../../src/flow/decide.js';
import { foldFlow } from '../../../src/flow/evolve.js';
import { EXCHANGE_GRACE_MS } from '../../../src/flow/machine.js';
import { SYSTEM_ACTOR } from '../../../src/flow/metadata.js';
import { flowStream } from '../../../src/flow/streams.js';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { createOAuthDriver } from '../../../src/oauth/index.js';
import type { OAuthDriver } from '../../../src/oauth/types.js';
import { eventsOf, LOOPBACK, startEngine, startPeers } from '../../support/engineHarness.js';
import { startEsdbTestServer } from '../../support/esdbServer/index.js';
import { movableClock } from '../../support/grantHelpers.js';

const TTL = 600_000;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real driver against the SDK's demo authorization server whose code exchanges wait for
 * `release()`: a callback's exchange held in flight while the test does something else.
 */
async function heldExchange(t: ExecutionContext, eventStore?: string) {
  const peers = await startPeers('sdk');
  const clock = movableClock();
  const inner = createOAuthDriver({ allowedDomains: LOOPBACK, clock });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const exchanging = new Promise<void>((r) => (entered = r));
  const issued: string[] = [];
  const revoked: string[] = [];
  const driver: OAuthDriver = {
    ...inner,
    exchangeCode: async (input) => {
      entered();
      await gate;
      const tokens = await inner.exchangeCode(input);
      issued.push(tokens.accessToken);
      return tokens;
    },
    revoke: async (input) => (revoked.push(input.token), inner.revoke(input)),
  };
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, driver, clock, flowTtlMs: TTL, ...(eventStore ? { eventStore } : {}) });
  t.teardown(async () => { release(); await h.close(); await peers.stop(); });
  return { h, clock, release, exchanging, issued, revoked };
}

/** What the expiry worker does for a flow it finds past its expiry. */
const expire = (h: Awaited<ReturnType<typeof heldExchange>>['h'], flowId: string, now: Date) =>
  handleCommand(h.store, flowStream(flowId), foldFlow, (s) => decideFlow({ type: 'ExpireFlow' }, s, { now, correlationId: 'expiry', actor: SYSTEM_ACTOR }));

test('a start while a callback exchanges the code waits for the exchange, then starts a new attempt instead of failing', async (t) => {
  const { h, release, exchanging } = await heldExchange(t);
  const { started, callback } = await h.authorize('alice', 'files');
  const first = h.callback('files', callback, started.bindingSecret);
  await exchanging;
  let settled = false;
  const second = h.engine.startFlow({ userId: 'alice', serverName: 'files', correlationId: 'tab-2' });
  second.then(() => (settled = true), () => (settled = true));
  await delay(300);
  t.false(settled, 'the start waits while the code is being exchanged');
  release();
  t.like(await first, { ok: true, alreadyCompleted: false });
  const next = await second;
  t.false(next.joined);
  t.not(next.flowId, started.flowId);
  t.is(foldFlow(await readDomainEvents(h.store, flowStream(started.flowId))).value, 'completed', 'the first attempt kept its outcome');
});

test('an expiry pass during a slow exchange leaves the flow to its claimant, so every callback reports it completed', async (t) => {
  const { h, clock, release, exchanging } = await heldExchange(t);
  const { started, callback } = await h.authorize('alice', 'files');
  clock.advance(TTL - 2000); // the callback comes back just in time
  const first = h.callback('files', callback, started.bindingSecret);
  await exchanging;
  clock.advance(5000); // past the flow's expiry while its code is exchanged
  t.deepEqual((await expire(h, started.flowId, clock.now())).appended, [], 'no expiry inside the exchange grace');
  t.is((await h.engine.getFlowStatus(started.flowId))?.status, 'PENDING', 'and the flow does not read as expired meanwhile');
  release();
  t.like(await first, { ok: true, alreadyCompleted: false });
  t.like(await h.callback('files', callback, started.bindingSecret), { ok: true, alreadyCompleted: true });
  t.is((await h.engine.getFlowStatus(started.flowId))?.status, 'COMPLETED');
});

/** Runs the race; resolves to the grant stream's event types. */
async function outlastedClaimant(t: ExecutionContext, eventStore?: string): Promise<string[]> {
  const { h, clock, release, exchanging, issued, revoked } = await heldExchange(t, eventStore);
  const { started, callback } = await h.authorize('alice', 'files');
  clock.advance(TTL - 2000);
  const first = h.callback('files', callback, started.bindingSecret);
  await exchanging;
  clock.advance(EXCHANGE_GRACE_MS);
  t.deepEqual((await expire(h, started.flowId, clock.now())).appended.map((e) => e.type), ['FlowExpired']);
  release();
  t.like(await first, { ok: false, error: 'flow_expired' });
  t.like(await h.callback('files', callback, started.bindingSecret), { ok: false, error: 'flow_expired' });
  t.is(issued.length, 1, 'the authorization server did issue tokens');
  t.true(revoked.includes(issued[0]!), 'and they were revoked there');
  const err = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.REAUTHORIZATION_REQUIRED, 'nothing of them was recorded as a grant');
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'disconnected' });
  return (await eventsOf(h.store, 'grant')).map((e) => e.type);
}

test('a claimant outlasted by the exchange grace reports the expiry that won, like every other callback, and its tokens do not outlive the flow', async (t) => {
  t.deepEqual(await outlastedClaimant(t), [], 'one transaction: the grant part rolled back with the flow part');
});

// EventStoreDB appends the grant's and the flow's parts one after the other: the grant's may
// commit before the flow's fails on the expiry, and the claimant then disconnects the grant.
test.serial('on EventStoreDB too, a claimant outlasted by the exchange grace leaves no usable grant', async (t) => {
  const server = await startEsdbTestServer();
  t.teardown(() => server.stop());
  t.deepEqual(await outlastedClaimant(t, server.connectionString), ['TokensIssued', 'GrantRevoked'], 'the grant part committed, then the claimant revoked the grant');
});

test('a reinitialize while a callback exchanges the code waits for it and answers connected when it completes', async (t) => {
  const { h, release, exchanging } = await heldExchange(t);
  const { started, callback } = await h.authorize('alice', 'files');
  const first = h.callback('files', callback, started.bindingSecret);
  await exchanging;
  const again = h.engine.reinitialize({ userId: 'alice', serverName: 'files', correlationId: 'tab-2' });
  await delay(200);
  release();
  t.like(await first, { ok: true });
  t.deepEqual(await again, { connected: true }, 'no second attempt for a user who has just connected');
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'connected' });
});

test('a flow whose claimant died reads EXPIRED once the exchange grace past its expiry is over, with no expiry recorded', async (t) => {
  const { h, clock, exchanging } = await heldExchange(t);
  const { started, callback } = await h.authorize('alice', 'files');
  // Its claimant never reports back (released only after the store has closed).
  h.callback('files', callback, started.bindingSecret).catch(() => undefined);
  await exchanging;
  clock.advance(TTL + 1000);
  t.is((await h.engine.getFlowStatus(started.flowId))?.status, 'PENDING', 'it may still complete');
  clock.advance(EXCHANGE_GRACE_MS);
  t.is((await h.engine.getFlowStatus(started.flowId))?.status, 'EXPIRED');
});
