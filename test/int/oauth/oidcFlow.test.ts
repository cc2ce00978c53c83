import test from 'ava';
import { isEngineError, type EngineError } from '../../../src/errors.js';
import { challengeFromResponse, checkCallbackIssuer } from '../../../src/oauth/index.js';
import { followAuthorization } from '../../support/browserless.js';
import { driverFor, fixedClock, listTools, oidcPeers, REDIRECT_URI, registerWith } from './_peers.js';

test('full flow against oidc-provider yields tokens the MCP server accepts', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const clock = fixedClock();
  const driver = driverFor(clock);

  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  t.is(discovery.issuer, peers.as.issuer);
  t.is(discovery.resource, peers.mcp.url);
  t.true(discovery.issParameterSupported);

  const client = await registerWith(driver, discovery, peers.server);
  t.is(client.kind, 'dcr');
  t.is(peers.as.counts.registration, 1);

  const { authorizationUrl, codeVerifier } = await driver.startAuthorization({ discovery, client, redirectUri: REDIRECT_URI, state: 'st-1', scope: discovery.scope });
  const cb = await followAuthorization(authorizationUrl, { redirectUri: REDIRECT_URI });
  t.is(cb.state, 'st-1');
  t.truthy(cb.code);
  t.notThrows(() => checkCallbackIssuer(discovery.issuer, discovery.issParameterSupported, cb.iss));

  const tokens = await driver.exchangeCode({ discovery, client, code: cb.code!, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server });
  t.truthy(tokens.accessToken);
  t.truthy(tokens.refreshToken);
  t.is(tokens.expiresAt, clock.now().getTime() + 300_000);
  t.is(peers.as.counts.token.authorization_code, 1);

  t.deepEqual(await listTools(peers.mcp.url, tokens.accessToken), ['echo', 'whoami']);
});

async function authorized(peers: Awaited<ReturnType<typeof oidcPeers>>, driver = driverFor()) {
  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  const client = await registerWith(driver, discovery, peers.server);
  const { authorizationUrl, codeVerifier } = await driver.startAuthorization({ discovery, client, redirectUri: REDIRECT_URI, state: 's', scope: discovery.scope });
  const cb = await followAuthorization(authorizationUrl, { redirectUri: REDIRECT_URI });
  return { driver, discovery, client, codeVerifier, code: cb.code! };
}

test('discovery follows the resource_metadata hint of the MCP server 401', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const res = await fetch(peers.mcp.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(res.status, 401);
  const challenge = challengeFromResponse(res);
  t.is(challenge.resourceMetadataUrl, peers.mcp.resourceMetadataUrl);
  const discovery = await driverFor().discover({ serverName: 'test', server: peers.server, challenge: { ...challenge, scope: 'mcp:write' } });
  t.is(discovery.issuer, peers.as.issuer);
  t.is(discovery.scope, 'mcp:write', 'the challenge scope wins over PRM scopes_supported');
});

test('dynamic registration sends application_type web and asks for the refresh grant', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const driver = driverFor();
  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  const client = await registerWith(driver, discovery, peers.server);
  t.is(client.registrationResponse?.application_type, 'web');
  t.deepEqual(client.registrationResponse?.grant_types, ['authorization_code', 'refresh_token']);
  t.is(client.tokenEndpointAuthMethod, 'none');
  t.is(client.issuer, peers.as.issuer);
  const stored = await (peers.as.provider() as { Client: { find(id: string): Promise<{ applicationType: string }> } }).Client.find(client.clientId);
  t.is(stored.applicationType, 'web');
});

test('refresh rotates the refresh token and the used one is then refused as invalid_grant', async (t) => {
  const peers = await oidcPeers({ rotateRefreshTokens: true });
  t.teardown(peers.stop);
  const { driver, discovery, client, codeVerifier, code } = await authorized(peers);
  const first = await driver.exchangeCode({ discovery, client, code, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server });
  const second = await driver.refresh({ discovery, client, refreshToken: first.refreshToken!, server: peers.server });
  t.truthy(second.refreshToken);
  t.not(second.refreshToken, first.refreshToken);
  t.deepEqual(await listTools(peers.mcp.url, second.accessToken), ['echo', 'whoami']);
  t.is(peers.as.counts.token.refresh_token, 1);

  const err = await t.throwsAsync(driver.refresh({ discovery, client, refreshToken: first.refreshToken!, server: peers.server }));
  t.true(isEngineError(err, 'token_request_failed'));
  t.is((err as EngineError).details!.oauthError, 'invalid_grant');
  t.is((err as EngineError).details!.status, 400);
  t.false(JSON.stringify({ m: err!.message, d: (err as EngineError).details }).includes(first.refreshToken!));
});

test('revoking the refresh token makes the next refresh fail with invalid_grant', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const { driver, discovery, client, codeVerifier, code } = await authorized(peers);
  const tokens = await driver.exchangeCode({ discovery, client, code, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server });
  t.true(await driver.revoke({ discovery, client, token: tokens.refreshToken!, tokenTypeHint: 'refresh_token', server: peers.server }));
  t.is(peers.as.counts.revocation, 1);
  const err = await t.throwsAsync(driver.refresh({ discovery, client, refreshToken: tokens.refreshToken!, server: peers.server }));
  t.is((err as EngineError).details!.oauthError, 'invalid_grant');
});

test('exchange after the AS forgot the client is classified invalid_client', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const { driver, discovery, client, codeVerifier, code } = await authorized(peers);
  await peers.as.restart();
  const err = await t.throwsAsync(driver.exchangeCode({ discovery, client, code, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server }));
  t.true(isEngineError(err, 'token_request_failed'));
  const details = (err as EngineError).details!;
  t.is(details.oauthError, 'invalid_client');
  t.is(details.status, 401);
  const visible = JSON.stringify({ m: err!.message, details });
  t.false(visible.includes(code));
  t.false(visible.includes(codeVerifier));
  // Same port and issuer, fresh storage: registering again works.
  const again = await registerWith(driver, discovery, peers.server);
  t.not(again.clientId, client.clientId);
  t.is(peers.as.counts.registration, 2);
});

test('consent denied comes back as access_denied on the callback', async (t) => {
  const peers = await oidcPeers({ interactions: 'deny' });
  t.teardown(peers.stop);
  const driver = driverFor();
  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  const client = await registerWith(driver, discovery, peers.server);
  const { authorizationUrl } = await driver.startAuthorization({ discovery, client, redirectUri: REDIRECT_URI, state: 'denied', scope: discovery.scope });
  const cb = await followAuthorization(authorizationUrl, { redirectUri: REDIRECT_URI });
  t.is(cb.error, 'access_denied');
  t.is(cb.state, 'denied');
  t.is(cb.code, undefined);
  t.is(cb.iss, peers.as.issuer);
});

test("oidc-provider's own dev login and consent forms can be walked headlessly", async (t) => {
  const peers = await oidcPeers({ interactions: 'dev' });
  t.teardown(peers.stop);
  const { driver, discovery, client, codeVerifier, code } = await authorized(peers);
  const tokens = await driver.exchangeCode({ discovery, client, code, codeVerifier, redirectUri: REDIRECT_URI, server: peers.server });
  t.deepEqual(await listTools(peers.mcp.url, tokens.accessToken), ['echo', 'whoami']);
});

test('the authorization URL carries S256 PKCE, state, scope and the resource', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const driver = driverFor();
  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  const client = await registerWith(driver, discovery, peers.server);
  const { authorizationUrl } = await driver.startAuthorization({ discovery, client, redirectUri: REDIRECT_URI, state: 'abc', scope: 'mcp:tools' });
  const q = new URL(authorizationUrl).searchParams;
  t.is(q.get('code_challenge_method'), 'S256');
  t.is(q.get('state'), 'abc');
  t.is(q.get('scope'), 'mcp:tools');
  t.is(q.get('resource'), peers.mcp.url);
  t.is(q.get('client_id'), client.clientId);
  t.is(q.get('redirect_uri'), REDIRECT_URI);
  t.is(peers.as.counts.authorization, 0, 'building the URL makes no request');
});
