import test from 'ava';
import { EngineError } from '../../../src/errors.js';
import type { McpServerConfig } from '../../../src/oauth/index.js';
import { fakeAsRoutes, fakeServer } from './_fakeServer.js';
import { driverFor, REDIRECT_URI } from './_peers.js';
import { eventsOf, startEngine } from '../../support/engineHarness.js';

const code = (err: unknown): string | undefined => (err instanceof EngineError ? err.code : undefined);

test('metadata whose issuer differs from the URL it was fetched for is refused', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({ issuer: 'BASE/evil' }));
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'issuer_mismatch');
});

test('an AS that does not advertise PKCE is refused', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({ code_challenge_methods_supported: undefined }));
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'pkce_unsupported');
});

test('an AS advertising only plain PKCE is refused', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({ code_challenge_methods_supported: ['plain'] }));
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'pkce_unsupported');
});

test('protected-resource metadata naming another resource is refused', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({}, { resource: 'https://elsewhere.example/mcp' }));
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'discovery_failed');
});

test('a server without protected-resource metadata fails discovery', async (t) => {
  const fake = await fakeServer({});
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'discovery_failed');
  t.deepEqual(fake.hits, ['GET /.well-known/oauth-protected-resource/mcp', 'GET /.well-known/oauth-protected-resource']);
});

test('root protected-resource metadata is used when the path-aware one is missing', async (t) => {
  const routes = fakeAsRoutes();
  const fake = await fakeServer({
    '/.well-known/oauth-protected-resource': routes['/.well-known/oauth-protected-resource/mcp']!,
    '/.well-known/oauth-authorization-server': routes['/.well-known/oauth-authorization-server']!,
  });
  t.teardown(fake.stop);
  const d = await driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } });
  t.is(d.issuer, fake.base);
  t.deepEqual(fake.hits.slice(0, 2), ['GET /.well-known/oauth-protected-resource/mcp', 'GET /.well-known/oauth-protected-resource']);
});

test('an AS pointing at a link-local metadata address is blocked by the guard', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({}, { authorization_servers: ['https://169.254.169.254'] }));
  t.teardown(fake.stop);
  const err = await t.throwsAsync(driverFor().discover({ serverName: 's', server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'ssrf_blocked');
});

test('resource: PRM value verbatim, config false opts out, a config string overrides', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({}, { resource: 'BASE/mcp' }));
  t.teardown(fake.stop);
  const url = `${fake.base}/mcp`;
  const driver = driverFor();
  t.is((await driver.discover({ serverName: 's', server: { url } })).resource, `${fake.base}/mcp`);
  t.is((await driver.discover({ serverName: 's', server: { url, oauth: { resource: false } } })).resource, undefined);
  t.is((await driver.discover({ serverName: 's', server: { url, oauth: { resource: 'urn:x' } } })).resource, 'urn:x');
});

test('scope: challenge, then PRM scopes_supported, then config', async (t) => {
  const withPrmScopes = await fakeServer(fakeAsRoutes({}, { scopes_supported: ['a', 'b'] }));
  const without = await fakeServer(fakeAsRoutes());
  t.teardown(withPrmScopes.stop);
  t.teardown(without.stop);
  const driver = driverFor();
  const cfg = (base: string): McpServerConfig => ({ url: `${base}/mcp`, oauth: { scope: 'cfg' } });
  t.is((await driver.discover({ serverName: 's', server: cfg(withPrmScopes.base), challenge: { scope: 'ch' } })).scope, 'ch');
  t.is((await driver.discover({ serverName: 's', server: cfg(withPrmScopes.base) })).scope, 'a b');
  t.is((await driver.discover({ serverName: 's', server: cfg(without.base) })).scope, 'cfg');
});

test('configured authorization_url and token_url skip network discovery', async (t) => {
  const fake = await fakeServer({});
  t.teardown(fake.stop);
  const d = await driverFor().discover({
    serverName: 's',
    server: { url: `${fake.base}/mcp`, oauth: { authorization_url: `${fake.base}/oauth/authorize`, token_url: `${fake.base}/oauth/token`, client_id: 'pre' } },
  });
  t.is(d.issuer, fake.base);
  t.is(d.resource, `${fake.base}/mcp`);
  t.deepEqual(fake.hits, []);
  const { authorizationUrl } = await driverFor().startAuthorization({
    discovery: d,
    client: { clientId: 'pre', kind: 'preregistered', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT_URI] },
    redirectUri: REDIRECT_URI,
    state: 's',
    scope: undefined,
  });
  t.is(new URL(authorizationUrl).searchParams.get('code_challenge_method'), 'S256');
});

test('registration priority: pre-registered, then CIMD when advertised, then nothing without DCR', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({ client_id_metadata_document_supported: true }));
  t.teardown(fake.stop);
  const url = `${fake.base}/mcp`;
  const driver = driverFor();
  const d = await driver.discover({ serverName: 's', server: { url } });
  const input = { discovery: d, redirectUri: REDIRECT_URI, clientName: 'x', scope: undefined };

  const pre = await driver.resolveClient({ ...input, server: { url, oauth: { client_id: 'id', client_secret: 'sec', client_metadata_url: 'https://app.example/cimd.json' } } });
  t.is(pre.kind, 'preregistered');
  t.is(pre.tokenEndpointAuthMethod, 'client_secret_basic');

  const cimd = await driver.resolveClient({ ...input, server: { url, oauth: { client_metadata_url: 'https://app.example/cimd.json' } } });
  t.is(cimd.kind, 'cimd');
  t.is(cimd.clientId, 'https://app.example/cimd.json');

  const err = await t.throwsAsync(driver.resolveClient({ ...input, server: { url } }));
  t.is(code(err), 'no_client_identity');
  t.false(fake.hits.some((h) => h.startsWith('POST')), 'no registration request was made');
});

test('a rejected registration carries the structured OAuth error', async (t) => {
  const fake = await fakeServer({
    ...fakeAsRoutes({ registration_endpoint: 'BASE/register' }),
    '/register': (_req, res) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_redirect_uri', error_description: 'no' }));
    },
  });
  t.teardown(fake.stop);
  const driver = driverFor();
  const d = await driver.discover({ serverName: 's', server: { url: `${fake.base}/mcp` } });
  const err = await t.throwsAsync(driver.resolveClient({ discovery: d, redirectUri: REDIRECT_URI, clientName: 'x', scope: undefined, server: { url: `${fake.base}/mcp` } }));
  t.is(code(err), 'registration_failed');
  t.like((err as EngineError).details, { oauthError: 'invalid_redirect_uri', status: 400 });
});

test('a token endpoint answering HTML is not classified as an OAuth error', async (t) => {
  const fake = await fakeServer({
    ...fakeAsRoutes(),
    '/token': (_req, res) => {
      res.statusCode = 502;
      res.end('<html>bad gateway invalid_client</html>');
    },
  });
  t.teardown(fake.stop);
  const driver = driverFor();
  const server = { url: `${fake.base}/mcp` };
  const d = await driver.discover({ serverName: 's', server });
  const client = { clientId: 'c', clientSecret: 'TOPSECRET', kind: 'preregistered' as const, tokenEndpointAuthMethod: 'client_secret_post', redirectUris: [REDIRECT_URI] };
  const err = await t.throwsAsync(driver.exchangeCode({ discovery: d, client, code: 'THECODE', codeVerifier: 'THEVERIFIER', redirectUri: REDIRECT_URI, server }));
  t.is(code(err), 'token_request_failed');
  const details = (err as EngineError).details!;
  t.is(details.oauthError, undefined, 'a message mentioning invalid_client is not a classification');
  t.is(details.status, 502);
  const visible = JSON.stringify({ m: err!.message, details, cause: String((err as Error).cause) });
  for (const secret of ['TOPSECRET', 'THECODE', 'THEVERIFIER']) t.false(visible.includes(secret));
});

test('client credentials bound to one issuer are not sent to another', async (t) => {
  const fake = await fakeServer(fakeAsRoutes());
  t.teardown(fake.stop);
  const server = { url: `${fake.base}/mcp` };
  const d = await driverFor().discover({ serverName: 's', server });
  const client = { clientId: 'c', kind: 'dcr' as const, tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT_URI], issuer: 'https://other.example' };
  const err = await t.throwsAsync(driverFor().refresh({ discovery: d, client, refreshToken: 'r', server }));
  t.is(code(err), 'issuer_mismatch');
  t.false(fake.hits.includes('POST /token'));
});

test('a start that can obtain no client identity is refused before anything is recorded', async (t) => {
  const fake = await fakeServer(fakeAsRoutes({}));
  const h = await startEngine({ servers: { s: { url: `${fake.base}/mcp` } }, driver: driverFor() });
  t.teardown(async () => { await h.close(); await fake.stop(); });
  const err = await t.throwsAsync(h.engine.startFlow({ userId: 'alice', serverName: 's', correlationId: 'c' }));
  t.is(code(err), 'no_client_identity');
  t.deepEqual(await eventsOf(h.store), [], 'no registration claim, no flow');
});
