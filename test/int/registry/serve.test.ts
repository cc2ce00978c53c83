import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { signHs256Jwt } from '../../../src/http/jwt.js';
import { createLogger } from '../../../src/http/logger.js';
import { startServer } from '../../../src/server.js';
import { followAuthorization } from '../../support/browserless.js';
import { startPeers } from '../../support/engineHarness.js';
import { SECRET, serveEnv } from '../http/_app.js';


test('flowctl serve: a user-managed server is created, connected through OAuth, and still listed after a restart', async (t) => {
  const peers = await startPeers('oidc');
  const dir = mkdtempSync(join(tmpdir(), 'flow-registry-serve-'));
  t.teardown(async () => {
    await peers.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = serveEnv(dir, { configured: { url: 'https://configured.example.com/mcp' } });
  const logger = createLogger({ level: 'silent' });
  const now = Math.floor(Date.now() / 1000);
  const auth = { authorization: `Bearer ${signHs256Jwt({ sub: 'serve-dana', iat: now, exp: now + 3600 }, SECRET)}` };

  let server = await startServer(env, { logger });
  try {
    const created = await fetch(`${server.url}/api/mcp/servers`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ config: { title: 'Dana Files', url: peers.mcp.url } }),
    });
    t.is(created.status, 201);
    const { serverName } = (await created.json()) as { serverName: string };
    t.is(serverName, 'dana-files');

    const reinit = await fetch(`${server.url}/api/mcp/${serverName}/reinitialize`, { method: 'POST', headers: auth });
    const body = (await reinit.json()) as { oauthRequired: boolean; oauthUrl: string };
    t.true(body.oauthRequired);
    const cookie = reinit.headers.getSetCookie().find((l) => l.startsWith('mcp_oauth_binding_'))!.split(';')[0]!;
    const callback = await followAuthorization(body.oauthUrl, { redirectUri: `${server.url}/api/mcp/${serverName}/oauth/callback` });
    const u = new URL(callback.url);
    const landed = await fetch(`${server.url}${u.pathname}${u.search}`, { headers: { cookie }, redirect: 'manual' });
    t.is(landed.headers.get('location'), `${server.url}/oauth/success?serverName=${serverName}`);
    await server.drain();
    const status = (await (await fetch(`${server.url}/api/mcp/connection/status`, { headers: auth })).json()) as { connectionStatus: Record<string, { connectionState: string }> };
    t.is(status.connectionStatus[serverName]?.connectionState, 'connected');
    t.truthy(status.connectionStatus.configured, 'configured servers are listed too');
  } finally {
    await server.close();
  }

  server = await startServer(env, { logger });
  try {
    const list = (await (await fetch(`${server.url}/api/mcp/servers`, { headers: auth })).json()) as { servers: Array<{ serverName: string; source: string }> };
    t.deepEqual(list.servers.map((s) => [s.serverName, s.source]), [['configured', 'config'], ['dana-files', 'user']]);
  } finally {
    await server.close();
  }
});
