import test from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isEngineError } from '../../../src/errors.js';
import { checkCallbackIssuer } from '../../../src/oauth/index.js';
import { followAuthorization } from '../../support/browserless.js';
import { driverFor, fixedClock, oidcPeers, REDIRECT_URI } from './_peers.js';

async function listTools(url: string, accessToken: string): Promise<string[]> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
  });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((t) => t.name).sort();
  } finally {
    await client.close();
  }
}

test('full flow against oidc-provider yields tokens the MCP server accepts', async (t) => {
  const peers = await oidcPeers();
  t.teardown(peers.stop);
  const clock = fixedClock();
  const driver = driverFor(clock);

  const discovery = await driver.discover({ serverName: 'test', server: peers.server });
  t.is(discovery.issuer, peers.as.issuer);
  t.is(discovery.resource, peers.mcp.url);
  t.true(discovery.issParameterSupported);

  const client = await driver.resolveClient({ discovery, redirectUri: REDIRECT_URI, clientName: 'flow engine', scope: discovery.scope, server: peers.server });
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
