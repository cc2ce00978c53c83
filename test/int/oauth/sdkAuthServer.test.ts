import test from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { challengeFromResponse } from '../../../src/oauth/index.js';
import { followAuthorization } from '../../support/browserless.js';
import { driverFor, REDIRECT_URI, registerWith, sdkPeers } from './_peers.js';

test('full flow against the SDK demo AS, discovered through the well-known PRM', async (t) => {
  const peers = await sdkPeers();
  t.teardown(peers.stop);
  const driver = driverFor();
  const discovery = await driver.discover({ serverName: 'sdk', server: peers.server });
  t.is(discovery.issuer, peers.as.issuer, 'the issuer is kept verbatim, trailing slash included');
  t.is(discovery.scope, 'mcp:tools');
  t.false(discovery.issParameterSupported);
  t.is(discovery.revocationEndpoint, undefined);

  const client = await registerWith(driver, discovery, peers.server);
  t.is(client.kind, 'dcr');
  t.is(peers.as.counts.registration, 1);
  const { authorizationUrl, codeVerifier } = await driver.startAuthorization({ discovery, client, redirectUri: REDIRECT_URI, state: 'sdk-state', scope: discovery.scope });
  const cb = await followAuthorization(authorizationUrl, { redirectUri: REDIRECT_URI });
  t.is(cb.state, 'sdk-state');
  const tokens = await driver.exchangeCode({ discovery, client, code: cb.code!, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server });
  t.is(peers.as.counts.token.authorization_code, 1);

  const mcp = new Client({ name: 'test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(peers.mcp.url), { requestInit: { headers: { authorization: `Bearer ${tokens.accessToken}` } } }));
  t.teardown(() => mcp.close());
  const result = await mcp.callTool({ name: 'whoami', arguments: {} });
  const text = (result.content as { type: string; text: string }[])[0]!.text;
  t.is(JSON.parse(text).clientId, client.clientId);
});

test('discovery through the 401 hint works against the SDK AS too', async (t) => {
  const peers = await sdkPeers();
  t.teardown(peers.stop);
  const res = await fetch(peers.mcp.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(res.status, 401);
  const discovery = await driverFor().discover({ serverName: 'sdk', server: peers.server, challenge: challengeFromResponse(res) });
  t.is(discovery.issuer, peers.as.issuer);
});

test('revoke resolves false when the AS advertises no revocation endpoint', async (t) => {
  const peers = await sdkPeers();
  t.teardown(peers.stop);
  const driver = driverFor();
  const discovery = await driver.discover({ serverName: 'sdk', server: peers.server });
  const client = await registerWith(driver, discovery, peers.server);
  t.false(await driver.revoke({ discovery, client, token: 'whatever', tokenTypeHint: 'access_token', server: peers.server }));
});

test('a token the MCP server did not issue gets 401 with the resource_metadata challenge', async (t) => {
  const peers = await sdkPeers();
  t.teardown(peers.stop);
  const res = await fetch(peers.mcp.url, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' });
  t.is(res.status, 401);
  t.regex(res.headers.get('www-authenticate') ?? '', /resource_metadata="[^"]+oauth-protected-resource\/mcp"/);
});
