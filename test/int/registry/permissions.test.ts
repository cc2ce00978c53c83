import test from 'ava';
import { configOf, startRegistryApp, type RegistryApp } from './_registryApp.js';

// Serial: some cases check that the store head did not move, so nothing else may append meanwhile.

let app: RegistryApp;
test.before(async () => {
  app = await startRegistryApp();
});
test.after.always(async () => {
  await app?.close();
});

/** A server owned by `owner`, shared with `${p}-viewer` (view) and `${p}-editor` (edit). */
async function sharedServer(p: string): Promise<string> {
  const res = await app.call('/api/mcp/servers', { method: 'POST', user: `${p}-owner`, json: configOf(`${p} shared`, undefined, { headers: { Authorization: 'Bearer s3cr3t' } }) });
  const { serverName } = (await res.json()) as { serverName: string };
  for (const [userId, level] of [[`${p}-viewer`, 'view'], [`${p}-editor`, 'edit']]) {
    const shared = await app.call(`/api/mcp/servers/${serverName}/share`, { method: 'POST', user: `${p}-owner`, json: { userId, level } });
    if (shared.status !== 200) throw new Error(`share answered ${shared.status}`);
  }
  return serverName;
}

const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

test.serial('owner: everything, and sees who it is shared with', async (t) => {
  const name = await sharedServer('p1');
  const got = (await (await app.call(`/api/mcp/servers/${name}`, { user: 'p1-owner' })).json()) as Record<string, unknown>;
  t.like(got, { access: 'owner', ownerId: 'p1-owner' });
  t.deepEqual(got.sharedWith, [{ userId: 'p1-editor', level: 'edit' }, { userId: 'p1-viewer', level: 'view' }]);
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'p1-owner', json: { config: { title: 'p1 renamed' } } })).status, 200);
  t.is((await app.call(`/api/mcp/${name}/auth-values`, { user: 'p1-owner' })).status, 200);
  const unshared = await app.call(`/api/mcp/servers/${name}/share/p1-viewer`, { method: 'DELETE', user: 'p1-owner' });
  t.is(unshared.status, 200);
  t.deepEqual(((await unshared.json()) as { sharedWith: unknown }).sharedWith, [{ userId: 'p1-editor', level: 'edit' }]);
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'p1-viewer' })).status, 404, 'unshared: gone for them');
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'p1-owner' })).status, 200);
});

test.serial('viewer: reads and lists, may not change, delete or share (403: it knows the server exists)', async (t) => {
  const name = await sharedServer('p2');
  const got = await app.call(`/api/mcp/servers/${name}`, { user: 'p2-viewer' });
  t.is(got.status, 200);
  const body = (await got.json()) as Record<string, unknown>;
  t.like(body, { access: 'view', headers: { Authorization: '[redacted]' } });
  t.is(body.ownerId, undefined, 'sharing details are for the owner');
  t.is(body.sharedWith, undefined);
  const list = (await (await app.call('/api/mcp/servers?search=p2%20shared', { user: 'p2-viewer' })).json()) as { servers: Array<{ serverName: string; access: string }> };
  t.deepEqual(list.servers.map((s) => [s.serverName, s.access]), [[name, 'view']]);
  t.is((await app.call(`/api/mcp/${name}/auth-values`, { user: 'p2-viewer' })).status, 200);
  t.true((await app.engine.listServers('p2-viewer')).includes(name), 'the engine lists it for them');

  const head = await app.head();
  for (const [method, path, json] of [
    ['PATCH', `/api/mcp/servers/${name}`, { config: { title: 'mine' } }],
    ['DELETE', `/api/mcp/servers/${name}`, undefined],
    ['POST', `/api/mcp/servers/${name}/share`, { userId: 'friend', level: 'view' }],
    ['DELETE', `/api/mcp/servers/${name}/share/p2-editor`, undefined],
  ] as const) {
    const res = await app.call(path, { method, user: 'p2-viewer', ...(json ? { json } : {}) });
    t.is(res.status, 403, `${method} ${path}`);
    t.is(await errorOf(res), 'forbidden');
  }
  t.is(await app.head(), head, 'nothing appended by refused commands');
});

test.serial('editor: reads and changes the configuration, may not delete or share', async (t) => {
  const name = await sharedServer('p3');
  const patched = await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'p3-editor', json: { config: { description: 'edited by the editor' } } });
  t.is(patched.status, 200);
  t.like(await patched.json(), { access: 'edit', description: 'edited by the editor' });
  const del = await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'p3-editor' });
  t.is(del.status, 403);
  const share = await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'p3-editor', json: { userId: 'p3-friend', level: 'edit' } });
  t.is(share.status, 403);
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'p3-owner' })).status, 200, 'still there');
});

test.serial("stranger: another user's private server is 404 on every route, exactly like a missing one", async (t) => {
  const name = await sharedServer('p4');
  const head = await app.head();
  for (const [method, path, json] of [
    ['GET', `/api/mcp/servers/${name}`, undefined],
    ['PATCH', `/api/mcp/servers/${name}`, { config: { title: 'hijack' } }],
    ['DELETE', `/api/mcp/servers/${name}`, undefined],
    ['POST', `/api/mcp/servers/${name}/share`, { userId: 'p4-stranger', level: 'edit' }],
    ['DELETE', `/api/mcp/servers/${name}/share/p4-viewer`, undefined],
    ['GET', `/api/mcp/${name}/auth-values`, undefined],
  ] as const) {
    const res = await app.call(path, { method, user: 'p4-stranger', ...(json ? { json } : {}) });
    const missing = await app.call(path.replace(name, 'no-such-server-anywhere'), { method, user: 'p4-stranger', ...(json ? { json } : {}) });
    t.is(res.status, 404, `${method} ${path}`);
    t.is(missing.status, 404);
    const [a, b] = [(await res.json()) as { error: string; message: string }, (await missing.json()) as { error: string; message: string }];
    t.is(a.error, b.error);
    t.is(a.message.replace(name, 'X'), b.message.replace('no-such-server-anywhere', 'X'), 'same answer as for a missing server');
  }
  t.is(await app.head(), head);
  const list = (await (await app.call('/api/mcp/servers?search=p4', { user: 'p4-stranger' })).json()) as { servers: unknown[] };
  t.deepEqual(list.servers, []);
  t.false((await app.engine.listServers('p4-stranger')).includes(name));
  t.false(await app.engine.hasServer(name, 'p4-stranger'));
  const reinit = await app.call(`/api/mcp/${name}/reinitialize`, { method: 'POST', user: 'p4-stranger' });
  t.is(reinit.status, 404, 'the flow routes do not know it either');
});

test.serial('admin: sees, changes, shares and deletes any server', async (t) => {
  const name = await sharedServer('p5');
  const list = (await (await app.call('/api/mcp/servers?search=p5%20shared', { user: 'p5-admin', admin: true })).json()) as { servers: Array<{ serverName: string; access: string }> };
  t.deepEqual(list.servers.map((s) => [s.serverName, s.access]), [[name, 'admin']]);
  const got = await app.call(`/api/mcp/servers/${name}`, { user: 'p5-admin', admin: true });
  t.like(await got.json(), { access: 'admin', ownerId: 'p5-owner' });
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'p5-admin', admin: true, json: { config: { title: 'p5 by admin' } } })).status, 200);
  t.is((await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'p5-admin', admin: true, json: { userId: 'p5-new', level: 'view' } })).status, 200);
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'p5-new' })).status, 200);
  // Without the role claim the same user is a stranger.
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'p5-admin' })).status, 404);
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'p5-admin', admin: true })).status, 200);
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'p5-owner' })).status, 404);
});

test.serial('a share can be raised or lowered, and sharing the same level twice records nothing', async (t) => {
  const name = await sharedServer('p6');
  const stream = (await app.events('server-')).find((e) => e.type === 'ServerRegistered' && e.data.serverName === name)!.stream;
  const before = (await app.events(stream)).length;
  t.is((await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'p6-owner', json: { userId: 'p6-viewer', level: 'view' } })).status, 200);
  t.is((await app.events(stream)).length, before);
  t.is((await app.call(`/api/mcp/servers/${name}/share`, { method: 'POST', user: 'p6-owner', json: { userId: 'p6-viewer', level: 'edit' } })).status, 200);
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'p6-viewer', json: { config: { title: 'p6 promoted' } } })).status, 200);
  t.is((await app.call(`/api/mcp/servers/${name}/share/nobody`, { method: 'DELETE', user: 'p6-owner' })).status, 200, 'unsharing someone not shared with is a no-op');
});
