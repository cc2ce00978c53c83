import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../../src/http/createApp.js';
import { redirectUriFor } from '../../../src/flow/deps.js';
import { CookieJar, followAuthorization } from '../../support/browserless.js';
import { eventsOf, startEngine, startPeers } from '../../support/engineHarness.js';

/** The app on a real port, the engine's PUBLIC_URL pointing at it, users named by a header. */
async function startApp(t: import('ava').ExecutionContext) {
  const peers = await startPeers('oidc');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, publicUrl: base });
  const app = createApp(h.engine, { publicUrl: base, authenticate: (ctx) => (ctx.get('x-user') ? { userId: ctx.get('x-user') } : null) });
  server.on('request', app.callback());
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await h.close();
    await peers.stop();
  });
  const call = (method: string, path: string, user?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method, redirect: 'manual', headers: { ...headers, ...(user ? { 'x-user': user } : {}) } });
  return { h, base, call };
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await read();
    if (ok(v) || i > 100) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('over HTTP: connect, tools listed after the callback, reinitialize sees the grant, DELETE disconnects', async (t) => {
  const { h, base, call } = await startApp(t);
  t.is((await call('DELETE', '/api/mcp/files/oauth')).status, 401, 'a principal is required');

  const started = await call('POST', '/api/mcp/files/reinitialize', 'alice');
  const body = (await started.json()) as { oauthRequired: boolean; oauthUrl: string };
  t.true(body.oauthRequired);
  const jar = new CookieJar();
  jar.store(new URL(base), started);
  const cb = await followAuthorization(body.oauthUrl, { redirectUri: redirectUriFor(base, 'files') });
  const landed = await call('GET', new URL(cb.url).pathname + new URL(cb.url).search, undefined, { cookie: jar.header(new URL(base)) ?? '' });
  t.is(landed.status, 302);
  t.regex(landed.headers.get('location') ?? '', /\/oauth\/success/);

  const tools = await eventually(
    async () => (await (await call('GET', '/api/mcp/tools', 'alice')).json()) as { servers: Record<string, { tools: Array<{ name: string }> } | null> },
    (v) => v.servers.files !== null,
  );
  t.deepEqual(tools.servers.files?.tools.map((x) => x.name).sort(), ['echo', 'whoami'], 'the callback route verified the connection');
  t.deepEqual(((await (await call('GET', '/api/mcp/tools', 'bob')).json()) as { servers: unknown }).servers, { files: null });

  const again = (await (await call('POST', '/api/mcp/files/reinitialize', 'alice')).json()) as { oauthRequired: boolean };
  t.false(again.oauthRequired, 'a usable grant needs no new flow');

  const deleted = await call('DELETE', '/api/mcp/files/oauth', 'alice');
  t.is(deleted.status, 200);
  // oidc-provider cannot revoke its self-contained JWT access tokens (RFC 7009 §2.2.1
  // unsupported_token_type); revoking the refresh token ends the grant behind them.
  t.like(await deleted.json(), { success: true, serverName: 'files', revoked: true, revokedAtAs: { refresh: 'revoked' } });
  t.true((await eventsOf(h.store, 'grant')).some((e) => e.type === 'GrantRevoked'));
  const after = (await (await call('POST', '/api/mcp/files/reinitialize', 'alice')).json()) as { oauthRequired: boolean };
  t.true(after.oauthRequired, 'after a disconnect a new flow starts');
  t.is((await call('DELETE', '/api/mcp/nope/oauth', 'alice')).status, 404);
});
