import type { ExecutionContext } from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openTokens } from '../../../src/grants/recordTokens.js';
import { grantStream } from '../../../src/flow/streams.js';
import type { Engine } from '../../../src/engine.js';
import type { SealedValue } from '../../../src/flow/sealed.js';
import { eventsOf, startEngine, startPeers, type EngineOptions } from '../../support/engineHarness.js';

export async function accessTokenOf(engine: Engine, userId: string, serverName: string): Promise<{ accessToken: string; refreshToken?: string }> {
  let sealed: SealedValue | undefined;
  for await (const e of engine.deps.store.readStream(grantStream(userId, serverName))) {
    if (e.type === 'TokensIssued') sealed = (e.data as { tokens: SealedValue }).tokens;
  }
  return openTokens(engine.deps, sealed!, userId, serverName);
}

async function listTools(url: string, token: string): Promise<string[]> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    return (await client.listTools()).tools.map((t) => t.name).sort();
  } finally {
    await client.close();
  }
}

/**
 * The flow integration suite, run against every store: the same guarantees must hold on the
 * embedded SQLite store and on EventStoreDB. `storeFor` supplies a fresh store per engine.
 */
export function flowSuite(test: (title: string, impl: (t: ExecutionContext) => Promise<void>) => void, storeFor: () => Promise<{ options: Partial<EngineOptions>; stop(): Promise<void> }>): void {
  const start = async (o: EngineOptions) => {
    const s = o.store ? { options: {}, stop: async () => {} } : await storeFor();
    const h = await startEngine({ ...s.options, ...o });
    const close = h.close;
    return Object.assign(h, { close: async () => { await close(); await s.stop(); } });
  };

  for (const kind of ['oidc', 'sdk'] as const) {
    test(`a full flow against ${kind === 'oidc' ? 'oidc-provider' : 'the SDK demo AS'} yields tokens the MCP server accepts`, async (t) => {
      const peers = await startPeers(kind);
      const h = await start({ servers: { files: { url: peers.mcp.url } } });
      t.teardown(async () => { await h.close(); await peers.stop(); });

      const outcome = await h.connect('alice', 'files');
      t.like(outcome, { ok: true, userId: 'alice', serverName: 'files', alreadyCompleted: false });
      const types = (await eventsOf(h.store, 'flow')).map((e) => e.type);
      t.deepEqual(types, ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted']);
      t.is(peers.registrations(), 1);
      t.is(peers.tokenRequests(), 1);

      const { accessToken } = await accessTokenOf(h.engine, 'alice', 'files');
      t.deepEqual(await listTools(peers.mcp.url, accessToken), ['echo', 'whoami']);
      t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'connected', requiresOAuth: true });
      const flowId = outcome.ok ? outcome.flowId : '';
      t.like(await h.engine.getFlowStatus(flowId, 'alice'), { status: 'COMPLETED' });
      t.is(await h.engine.getFlowStatus(flowId, 'mallory'), null, "other users' flows are invisible");
    });
  }

  test('a stored client is reused by the next attempt', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });

    t.true((await h.connect('alice', 'files')).ok);
    t.true((await h.connect('bob', 'files')).ok);
    t.is(peers.registrations(), 1, 'one DCR call for both users');
    const flows = await eventsOf(h.store, 'flow');
    const reused = flows.filter((e) => e.type === 'ClientReused');
    t.is(reused.length, 1);
    const initiated = flows.filter((e) => e.type === 'FlowInitiated').map((e) => (e.data.client as { clientId: string }).clientId);
    t.is(initiated[0], initiated[1]);
  });

  test('a changed redirect_uri registers a new client', async (t) => {
    const peers = await startPeers('oidc');
    const h1 = await start({ servers: { files: { url: peers.mcp.url } }, publicUrl: 'http://localhost:3080' });
    t.teardown(async () => { await h1.close(); await peers.stop(); });
    t.true((await h1.connect('alice', 'files')).ok);
    const h2 = await start({ servers: { files: { url: peers.mcp.url } }, publicUrl: 'http://localhost:4090', store: h1.store });
    t.true((await h2.connect('alice', 'files')).ok);
    t.is(peers.registrations(), 2);
    t.is((await eventsOf(h1.store, 'flow')).filter((e) => e.type === 'ClientReused').length, 0);
  });

  test('a changed issuer registers a new client', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    t.true((await h.connect('alice', 'files')).ok);

    const { startOidcProvider } = await import('../../support/oidcProvider.js');
    const other = await startOidcProvider({ mcpResource: peers.mcp.url });
    t.teardown(() => other.stop());
    peers.mcp.setAuthServer({ issuer: other.issuer, verifyAccessToken: (tok) => other.verifyAccessToken(tok) });
    t.true((await h.connect('alice', 'files')).ok);
    t.is(other.counts.registration, 1, 'the new issuer got its own registration');
    const registered = (await eventsOf(h.store, 'client')).filter((e) => e.type === 'ClientRegistered');
    t.deepEqual(registered.map((e) => e.data.issuer), [peers.as.issuer, other.issuer]);
  });

  test('an AS that forgot the client rejects the exchange; the next attempt registers fresh', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    t.true((await h.connect('alice', 'files')).ok);

    const { started, callback } = await h.authorize('bob', 'files'); // reuses the stored client
    await (peers.as as import('../../support/oidcProvider.js').OidcProviderHandle).restart();
    const rejected = await h.callback('files', callback, started.bindingSecret);
    t.deepEqual(rejected, { ok: false, error: 'client_rejected', flowId: started.flowId });

    const flowTypes = (await eventsOf(h.store, `flow`)).filter((e) => e.stream === `flow-${started.flowId}`).map((e) => e.type);
    t.deepEqual(flowTypes, ['FlowInitiated', 'ClientReused', 'CodeExchangeStarted', 'ClientRejected']);
    t.deepEqual((await eventsOf(h.store, 'client')).map((e) => e.type), ['ClientRegistrationStarted', 'ClientRegistered', 'ClientRegistrationDiscarded']);
    t.like(await h.engine.getFlowStatus(started.flowId), { status: 'FAILED', error: 'client_rejected' });

    const before = peers.registrations();
    t.true((await h.connect('bob', 'files')).ok, 'the next attempt succeeds');
    t.is(peers.registrations(), before + 1, 'with a fresh registration');
  });

  test('consent denied becomes CallbackErrored and the flow fails', async (t) => {
    const peers = await startPeers('oidc', { interactions: 'deny' });
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    const { started, callback } = await h.authorize('alice', 'files');
    t.is(callback.error, 'access_denied');
    t.deepEqual(await h.callback('files', callback, started.bindingSecret), { ok: false, error: 'access_denied', flowId: started.flowId });
    t.like(await h.engine.getFlowStatus(started.flowId), { status: 'FAILED', error: 'access_denied' });
    t.is(peers.tokenRequests(), 0);
    t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'error', error: 'access_denied' });
  });

  test('an AS error on a callback without the binding changes nothing', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    const { started, callback } = await h.authorize('alice', 'files');
    const head = await h.store.headPosition();
    const forged = await h.callback('files', { ...callback, code: undefined, error: 'access_denied' }, undefined);
    t.deepEqual(forged, { ok: false, error: 'csrf_validation_failed', flowId: started.flowId });
    t.deepEqual(await h.store.headPosition(), head, 'nothing appended');
    t.true((await h.callback('files', callback, started.bindingSecret)).ok, 'the real browser still completes');
  });

  test('a callback with the wrong iss is refused before any token request', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    const { started, callback } = await h.authorize('alice', 'files');
    const outcome = await h.callback('files', { ...callback, iss: 'https://evil.example' }, started.bindingSecret);
    t.deepEqual(outcome, { ok: false, error: 'issuer_mismatch', flowId: started.flowId });
    t.is(peers.tokenRequests(), 0);
    t.like(await h.engine.getFlowStatus(started.flowId), { status: 'FAILED', error: 'issuer_mismatch' });
  });

  test('ten concurrent duplicate callbacks make one token request and agree', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    const { started, callback } = await h.authorize('alice', 'files');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => h.callback('files', callback, started.bindingSecret)));
    t.true(outcomes.every((o) => o.ok), JSON.stringify(outcomes));
    t.is(peers.tokenRequests(), 1);
    t.is(outcomes.filter((o) => o.ok && !o.alreadyCompleted).length, 1, 'exactly one callback did the exchange');
    const types = (await eventsOf(h.store, 'flow')).map((e) => e.type);
    t.deepEqual(types, ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted']);
  });

  test('a state the engine never issued is refused', async (t) => {
    const peers = await startPeers('oidc');
    const h = await start({ servers: { files: { url: peers.mcp.url } } });
    t.teardown(async () => { await h.close(); await peers.stop(); });
    const { started, callback } = await h.authorize('alice', 'files');
    const tampered = `${callback.state!.split('.')[0]}.${'A'.repeat(43)}`;
    t.deepEqual(await h.callback('files', { ...callback, state: tampered }, started.bindingSecret), { ok: false, error: 'invalid_state' });
    t.deepEqual(await h.callback('files', { ...callback, state: undefined }, started.bindingSecret), { ok: false, error: 'missing_state' });
    t.deepEqual(await h.callback('other', callback, started.bindingSecret), { ok: false, error: 'invalid_state' }, 'the state belongs to another server');
    t.is(peers.tokenRequests(), 0);
  });
}
