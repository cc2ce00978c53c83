import test from 'ava';
import { followAuthorization } from '../../support/browserless.js';
import { startRegistryApp, type RegistryApp } from './_registryApp.js';

interface Reinit {
  oauthRequired: boolean;
  oauthUrl?: string;
  flowId?: string;
}

const cookieOf = (res: Response): string => res.headers.getSetCookie().find((l) => l.startsWith('mcp_oauth_binding_'))!.split(';')[0]!;
const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

async function reinitialize(app: RegistryApp, user: string, name: string): Promise<{ body: Reinit; cookie: string }> {
  const res = await app.call(`/api/mcp/${name}/reinitialize`, { method: 'POST', user });
  if (res.status !== 200) throw new Error(`reinitialize answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as Reinit;
  return { body, cookie: body.oauthRequired ? cookieOf(res) : '' };
}

async function flowEvents(app: RegistryApp, flowId: string): Promise<string[]> {
  return (await app.events(`flow-${flowId}`)).map((e) => e.type);
}

test('changing OAuth options or the URL supersedes pending attempts and discards registrations; deleting revokes grants', async (t) => {
  const app = await startRegistryApp({ peers: true });
  t.teardown(() => app.close());
  const peers = app.peers!;

  const created = await app.call('/api/mcp/servers', { method: 'POST', user: 'fx-owner', json: { config: { title: 'Effects Server', url: peers.mcp.url } } });
  t.is(created.status, 201);
  const { serverName: name } = (await created.json()) as { serverName: string };
  t.is((await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'fx-owner', json: { userId: 'fx-bob', level: 'view' } })).status, 200);

  // Bob connects for real: oidc-provider, dynamic registration, code exchange, grant.
  const bob = await reinitialize(app, 'fx-bob', name);
  t.true(bob.body.oauthRequired);
  const callback = await followAuthorization(bob.body.oauthUrl!, { redirectUri: `${app.base}/api/mcp/${name}/oauth/callback` });
  const landed = await app.call(pathOf(callback.url), { cookie: bob.cookie });
  t.is(landed.headers.get('location'), `${app.base}/oauth/success?serverName=${name}`);
  t.deepEqual(await (await app.call(`/api/mcp/${name}/auth-values`, { user: 'fx-bob' })).json(), {
    success: true,
    serverName: name,
    authValueFlags: {},
    oauth: { tokens: true, refreshToken: true },
  });
  t.is(peers.registrations(), 1);

  // The owner's attempt is pending (it reuses Bob's registration).
  const first = await reinitialize(app, 'fx-owner', name);
  t.true(first.body.oauthRequired);
  t.deepEqual(await flowEvents(app, first.body.flowId!), ['FlowInitiated', 'ClientReused']);

  // New OAuth options: that attempt and the registration were made under the old ones.
  const patched = await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'fx-owner', json: { config: { oauth: { resource: true } } } });
  t.is(patched.status, 200);
  t.is((await flowEvents(app, first.body.flowId!)).at(-1), 'FlowSuperseded');
  const status = await app.call(`/api/mcp/oauth/status/${first.body.flowId}`, { user: 'fx-owner' });
  t.like(await status.json(), { status: 'CANCELLED', completed: false });
  const discards = (await app.events('client-')).filter((e) => e.type === 'ClientRegistrationDiscarded');
  t.is(discards.length, 1);
  t.is(discards[0]!.data.reason, 'server_changed');

  // The next attempt is a new one with a fresh registration.
  const second = await reinitialize(app, 'fx-owner', name);
  t.not(second.body.flowId, first.body.flowId);
  t.is(peers.registrations(), 2, 'the discarded registration is not reused');

  // A URL change does the same; Bob's grant is left alone by updates.
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'fx-owner', json: { config: { url: `${peers.mcp.url}?v=2` } } })).status, 200);
  t.is((await flowEvents(app, second.body.flowId!)).at(-1), 'FlowSuperseded');
  t.is((await app.events('client-')).filter((e) => e.type === 'ClientRegistrationDiscarded').length, 2);
  t.like(await (await app.call(`/api/mcp/${name}/auth-values`, { user: 'fx-bob' })).json(), { oauth: { tokens: true } });

  // A title change is not an endpoint change: nothing is superseded or discarded.
  const third = await reinitialize(app, 'fx-owner', name);
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'fx-owner', json: { config: { title: 'Effects Server Renamed' } } })).status, 200);
  t.deepEqual(await flowEvents(app, third.body.flowId!), ['FlowInitiated'], 'still pending, with a registration of its own');

  // Delete: Bob's grant is revoked at the AS and in the log, the pending attempt ends, the server is gone.
  const del = await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'fx-owner' });
  t.is(del.status, 200);
  t.like(await del.json(), { success: true, serverName: name, revokedGrants: 1 });
  const revoked = (await app.events('grant-')).filter((e) => e.type === 'GrantRevoked');
  t.is(revoked.length, 1);
  t.is(revoked[0]!.data.reason, 'server_removed');
  t.is((await flowEvents(app, third.body.flowId!)).at(-1), 'FlowSuperseded');
  t.true((await app.events('server-')).some((e) => e.type === 'ServerRemoved' && e.data.serverName === name && e.data.revokedGrants === 1));
  t.is((await app.call(`/api/mcp/${name}/auth-values`, { user: 'fx-bob' })).status, 404);
  t.is((await app.call(`/api/mcp/${name}/reinitialize`, { method: 'POST', user: 'fx-bob' })).status, 404);
  t.false((await app.engine.listServers('fx-owner')).includes(name));
});

test("unsharing revokes the former viewer's grant", async (t) => {
  const app = await startRegistryApp({ peers: true });
  t.teardown(() => app.close());
  const created = await app.call('/api/mcp/servers', { method: 'POST', user: 'un-owner', json: { config: { title: 'Unshare Server', url: app.peers!.mcp.url } } });
  const { serverName: name } = (await created.json()) as { serverName: string };
  await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'un-owner', json: { userId: 'un-carol', level: 'view' } });
  const carol = await reinitialize(app, 'un-carol', name);
  const callback = await followAuthorization(carol.body.oauthUrl!, { redirectUri: `${app.base}/api/mcp/${name}/oauth/callback` });
  t.is((await app.call(pathOf(callback.url), { cookie: carol.cookie })).headers.get('location'), `${app.base}/oauth/success?serverName=${name}`);

  t.is((await app.call(`/api/mcp/servers/${name}/share/un-carol`, { method: 'DELETE', user: 'un-owner' })).status, 200);
  const revoked = (await app.events('grant-')).filter((e) => e.type === 'GrantRevoked');
  t.is(revoked.length, 1);
  t.is(revoked[0]!.data.reason, 'server_unshared');
  t.is((await app.call(`/api/mcp/${name}/reinitialize`, { method: 'POST', user: 'un-carol' })).status, 404);
});
