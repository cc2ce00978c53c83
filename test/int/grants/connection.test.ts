import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { createGuardedFetch } from '../../../src/oauth/guardedFetch.js';
import { redirectUriFor } from '../../../src/flow/deps.js';
import { grantStream } from '../../../src/flow/streams.js';
import { readDomainEvents } from '../../../src/flow/commandHandler.js';
import { openDataKeyStore } from '../../../src/store/dataKeys/index.js';
import { followAuthorization } from '../../support/browserless.js';
import { eventsOf, startEngine, startPeers } from '../../support/engineHarness.js';
import { currentTokens } from '../../support/grantHelpers.js';
import { introspectionVerifier, RESOURCE_SERVER_CLIENT } from '../../support/introspection.js';
import { startMcpServer } from '../../support/mcpServer.js';
import { startOidcProvider } from '../../support/oidcProvider.js';

async function mcpAccepts(url: string, token: string): Promise<boolean> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    await client.listTools();
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

test('tools are listed and recorded after a flow', async (t) => {
  const peers = await startPeers('oidc');
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  t.true((await h.connect('alice', 'files')).ok);

  const verified = await h.engine.verifyConnection('alice', 'files');
  t.like(verified, { ok: true, transport: 'streamable-http' });
  const listed = await h.engine.listTools('alice', ['files']);
  t.deepEqual(listed.files?.tools.map((tool) => tool.name).sort(), ['echo', 'whoami']);
  t.is(listed.files?.tools.find((tool) => tool.name === 'echo')?.description, 'Echoes text');
  t.deepEqual((await eventsOf(h.store, 'mcpconn')).map((e) => e.type), ['ToolsListed']);
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'connected' });
  t.deepEqual(await h.engine.listTools('bob', ['files']), { files: null }, "another user's tools are not shown");
});

test('an MCP server at a non-allowed private address is refused at connect time', async (t) => {
  const peers = await startPeers('oidc');
  // OAuth may reach the loopback peers; MCP connections may not (no allowed domains).
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, mcpFetch: createGuardedFetch({ stream: true }) });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  t.true((await h.connect('alice', 'files')).ok);
  const before = peers.mcp.counts.authorized + peers.mcp.counts.unauthorized;
  const verified = await h.engine.verifyConnection('alice', 'files');
  t.false(verified.ok);
  t.is(peers.mcp.counts.authorized + peers.mcp.counts.unauthorized, before, 'no request reached the MCP server');
  t.like((await eventsOf(h.store, 'mcpconn')).at(-1), { type: 'McpConnectionFailed' });
});

test('a refusing MCP server is recorded and shows in the connection status', async (t) => {
  const peers = await startPeers('oidc');
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  t.true((await h.connect('alice', 'files')).ok);
  const other = await startOidcProvider({ mcpResource: peers.mcp.url });
  t.teardown(() => other.stop());
  peers.mcp.setAuthServer({ issuer: other.issuer, verifyAccessToken: (tok) => other.verifyAccessToken(tok) });

  t.deepEqual(await h.engine.verifyConnection('alice', 'files'), { ok: false, reason: 'unauthorized', status: 401 });
  const failed = (await eventsOf(h.store, 'mcpconn')).at(-1)!;
  t.like(failed, { type: 'McpConnectionFailed', data: { reason: 'unauthorized', status: 401 } });
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'error', error: 'mcp_connection_failed' });
});

test('disconnect revokes at the AS, the MCP server refuses the old token, and the data key is shredded', async (t) => {
  const mcp = await startMcpServer();
  const as = await startOidcProvider({ mcpResource: mcp.url, accessTokenFormat: 'opaque', clients: [RESOURCE_SERVER_CLIENT] });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: introspectionVerifier(as.issuer) });
  const dir = mkdtempSync(join(tmpdir(), 'grant-shred-'));
  const dbPath = join(dir, 'events.db');
  const dataKeys = openDataKeyStore(`sqlite:${dbPath}`);
  const h = await startEngine({ servers: { files: { url: mcp.url } }, dbPath, grantOptions: { dataKeys } });
  t.teardown(async () => { dataKeys.close(); await h.close(); await mcp.stop(); await as.stop(); rmSync(dir, { recursive: true, force: true }); });
  t.true((await h.connect('alice', 'files')).ok);

  const token = await h.engine.getAccessToken('alice', 'files');
  t.true(await mcpAccepts(mcp.url, token), 'the token works before the disconnect');
  const keyId = (await readDomainEvents(h.store, grantStream('alice', 'files')))[0]!.data.tokens as { dk: string };
  const wrapped = await dataKeys.get(keyId.dk);
  t.truthy(wrapped);

  const result = await h.engine.disconnect({ userId: 'alice', serverName: 'files', correlationId: 'test' });
  t.deepEqual(result, { revoked: true, revokedAtAs: { access: 'revoked', refresh: 'revoked' }, shreddedKeys: [keyId.dk] });
  t.is(as.counts.revocation, 2);
  t.false(await mcpAccepts(mcp.url, token), 'the MCP server refuses the revoked token');

  const history = await readDomainEvents(h.store, grantStream('alice', 'files'));
  t.deepEqual(history.map((e) => e.type), ['TokensIssued', 'GrantRevoked'], 'the history still decodes');
  const shredded = await t.throwsAsync(currentTokensOf(), { instanceOf: EngineError });
  t.is(shredded.code, ErrorCode.KEY_SHREDDED);
  t.true(await dataKeys.isDestroyed(keyId.dk));
  const raw = ['', '-wal'].map((s) => { try { return readFileSync(`${dbPath}${s}`).toString('latin1'); } catch { return ''; } }).join('');
  t.false(raw.includes(wrapped!.ct), 'the wrapped data key is gone from the database files');

  const err = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.like(err, { code: ErrorCode.REAUTHORIZATION_REQUIRED });
  t.like(err.details, { reason: 'grant_revoked' });
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'disconnected' });
  t.like(await h.engine.disconnect({ userId: 'alice', serverName: 'files', correlationId: 'again' }), { revoked: false });

  t.true((await h.connect('alice', 'files')).ok, 'reconnecting works with a fresh data key');
  t.true(await mcpAccepts(mcp.url, await h.engine.getAccessToken('alice', 'files')));

  async function currentTokensOf() {
    // Read the TokensIssued of the revoked grant directly: the fold drops tokens after GrantRevoked.
    return h.engine.deps.grantSealer.open(history[0]!.data.tokens as never, `${grantStream('alice', 'files')}:tokens`);
  }
});

test('a 403 insufficient_scope starts a step-up for the union of scopes, capped per scope set', async (t) => {
  const mcp = await startMcpServer({ toolScopes: { echo: ['mcp:write'] } });
  // A pre-registered client: a DCR registration carries the first flow's `scope`, which
  // oidc-provider then enforces as the client's ceiling (a step-up would need re-registration).
  const redirectUri = redirectUriFor('http://localhost:3080', 'files');
  const host = { client_id: 'host-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
  const as = await startOidcProvider({ mcpResource: mcp.url, clients: [host] });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: (tok) => as.verifyAccessToken(tok) });
  const h = await startEngine({ servers: { files: { url: mcp.url, oauth: { client_id: 'host-app', token_endpoint_auth_method: 'none' } } } });
  t.teardown(async () => { await h.close(); await mcp.stop(); await as.stop(); });
  t.true((await h.connect('alice', 'files')).ok);
  t.is((await currentTokens(h.engine, 'alice', 'files')).scope, 'mcp:tools');

  const err = await t.throwsAsync(h.engine.callTool({ userId: 'alice', serverName: 'files', name: 'echo', arguments: { text: 'hi' } }), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.like(err.details, { reason: 'insufficient_scope', scope: 'mcp:tools mcp:write' });
  const oauthUrl = new URL(err.details!.oauthUrl as string);
  t.is(oauthUrl.searchParams.get('scope'), 'mcp:tools mcp:write');

  const bound = await h.engine.bindBrowser({ userId: 'alice', serverName: 'files', correlationId: 'test' });
  t.is(bound?.flowId, err.details!.flowId as string);
  const callback = await followAuthorization(oauthUrl.href, { redirectUri: redirectUriFor(h.publicUrl, 'files') });
  const stepped = await h.callback('files', callback, bound!.bindingSecret);
  t.true(stepped.ok, JSON.stringify({ stepped, callback }));
  const result = (await h.engine.callTool({ userId: 'alice', serverName: 'files', name: 'echo', arguments: { text: 'hi' } })) as { content: Array<{ text: string }> };
  t.is(result.content[0]!.text, 'hi', 'the stepped-up token is accepted');

  await h.engine.stepUp({ userId: 'alice', serverName: 'files', challengedScope: 'mcp:write', correlationId: 'again' });
  const capped = await t.throwsAsync(h.engine.stepUp({ userId: 'alice', serverName: 'files', challengedScope: 'mcp:write', correlationId: 'loop' }), { instanceOf: EngineError });
  t.like(capped, { code: ErrorCode.FORBIDDEN });
  t.like(capped.details, { reason: 'step_up_limit_reached', attempts: 2 });
  t.deepEqual((await eventsOf(h.store, 'mcpconn')).map((e) => e.type), ['StepUpRequested', 'StepUpRequested']);
});
