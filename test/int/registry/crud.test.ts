import test from 'ava';
import type { ServerView } from '../../../src/registry/index.js';
import { startRegistryApp, configOf, type RegistryApp } from './_registryApp.js';

let app: RegistryApp;
test.before(async () => {
  app = await startRegistryApp();
});
test.after.always(async () => {
  await app?.close();
});

type View = ServerView;

async function create(user: string, body: unknown): Promise<View> {
  const res = await app.call('/api/mcp/servers', { method: 'POST', user, json: body });
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as View;
}

test('create answers 201 with the server name and the config, secrets redacted, and seals them in the log', async (t) => {
  const res = await app.call('/api/mcp/servers', {
    method: 'POST',
    user: 'crud-alice',
    json: configOf('Weather Tools', 'https://public.example.test/mcp', {
      description: 'Forecasts',
      headers: { Authorization: 'Bearer very-secret-token', 'X-Tenant': 'acme' },
      oauth: { client_id: 'my-client', client_secret: 'super-secret-client-secret', scope: 'read' },
    }),
  });
  t.is(res.status, 201);
  const body = (await res.json()) as View;
  t.like(body, {
    serverName: 'weather-tools',
    title: 'Weather Tools',
    description: 'Forecasts',
    url: 'https://public.example.test/mcp',
    headers: { Authorization: '[redacted]', 'X-Tenant': '[redacted]' },
    oauth: { client_id: 'my-client', client_secret: '[redacted]', scope: 'read' },
    source: 'user',
    access: 'owner',
    ownerId: 'crud-alice',
  });
  const raw = JSON.stringify(await app.events('server'));
  t.notRegex(raw, /very-secret-token/, 'no plaintext header value in the log');
  t.notRegex(raw, /super-secret-client-secret/, 'no plaintext client secret in the log');
  t.regex(raw, /ServerRegistered/);
  const claims = await app.events('servername-weather-tools');
  t.is(claims.length, 1);
  t.is(claims[0]!.type, 'ServerNameClaimed');
  t.false(claims[0]!.stream.includes('Weather'), 'stream ids never carry the display name');

  // The engine resolves it with the secrets opened, for the owner only.
  const resolved = await app.registry.resolveServer('weather-tools', 'crud-alice');
  t.is(resolved?.headers?.Authorization, 'Bearer very-secret-token');
  t.is(resolved?.oauth?.client_secret, 'super-secret-client-secret');
  t.is(await app.registry.resolveServer('weather-tools', 'someone-else'), undefined);
});

test('read, update and delete a server through its name', async (t) => {
  const created = await create('crud-bob', configOf('Bob Notes', 'https://public.example.test/notes', { headers: { 'X-Api-Key': 'k1' } }));
  const name = created.serverName;
  const got = await app.call(`/api/mcp/servers/${name}`, { user: 'crud-bob' });
  t.is(got.status, 200);
  t.like(await got.json(), { serverName: name, title: 'Bob Notes', headers: { 'X-Api-Key': '[redacted]' } });

  const patched = await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'crud-bob', json: { config: { title: 'Bob Notes v2', description: 'Now with tags' } } });
  t.is(patched.status, 200);
  t.like(await patched.json(), { serverName: name, title: 'Bob Notes v2', description: 'Now with tags', url: 'https://public.example.test/notes', headers: { 'X-Api-Key': '[redacted]' } });
  const updates = (await app.events('server-')).filter((e) => e.type === 'ServerUpdated');
  t.true(updates.some((e) => e.data.title === 'Bob Notes v2' && e.data.url === undefined && e.data.headers === undefined), 'only the changed fields are recorded');

  // The same values again: nothing to record (other tests append concurrently: count this stream only).
  const stream = (await app.events('server-')).find((e) => e.type === 'ServerRegistered' && e.data.serverName === name)!.stream;
  const before = (await app.events(stream)).length;
  const same = await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'crud-bob', json: { config: { title: 'Bob Notes v2', headers: { 'X-Api-Key': 'k1' } } } });
  t.is(same.status, 200);
  t.is((await app.events(stream)).length, before);

  const cleared = await app.call(`/api/mcp/servers/${name}`, { method: 'PATCH', user: 'crud-bob', json: { config: { description: null, headers: null } } });
  const clearedBody = (await cleared.json()) as View;
  t.is(clearedBody.description, undefined);
  t.is(clearedBody.headers, undefined);

  const del = await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'crud-bob' });
  t.is(del.status, 200);
  t.like(await del.json(), { success: true, serverName: name, revokedGrants: 0 });
  t.is((await app.call(`/api/mcp/servers/${name}`, { user: 'crud-bob' })).status, 404);
  t.is((await app.call(`/api/mcp/servers/${name}`, { method: 'DELETE', user: 'crud-bob' })).status, 404);
  t.is(await app.registry.resolveServer(name, 'crud-bob'), undefined);

  // The name is never handed out again: a new server with the same title gets a suffix.
  const again = await create('crud-bob', configOf('Bob Notes'));
  t.not(again.serverName, name);
});

test('names come from the title: accents folded, unicode-only titles, configured names and reserved words avoided', async (t) => {
  t.is((await create('crud-carol', configOf('Café Déjà Vu ☕'))).serverName, 'cafe-deja-vu');
  const cjk = await create('crud-carol', configOf('数据服务'));
  t.regex(cjk.serverName, /^server(-\d+)?$/);
  t.is(cjk.title, '数据服务', 'the title itself is kept as given');
  t.is((await create('crud-carol', configOf('Files'))).serverName, 'files-2', 'configured "files" is not taken over');
  t.is((await create('crud-carol', configOf('Servers'))).serverName, 'servers-2', 'route words are reserved');
  const long = await create('crud-carol', configOf('x'.repeat(100)));
  t.true(long.serverName.length <= 64);
});

test('concurrent creates with the same title get distinct names', async (t) => {
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => create(`crud-race-${i}`, configOf('Race Condition'))));
  const names = results.map((r) => r.serverName);
  t.is(new Set(names).size, 6, names.join(', '));
  t.true(names.includes('race-condition'));
  for (const n of names) t.regex(n, /^race-condition(-\d+)?$/);
});

test('the list pages with an opaque cursor, searches title and description, and shows configured servers to everyone', async (t) => {
  const user = 'crud-lister';
  for (let i = 0; i < 5; i++) await create(user, configOf(`Lister Alpha ${i}`, undefined, i === 3 ? { description: 'Has the NEEDLE inside' } : {}));
  await create('crud-other', configOf('Lister Alpha Private'));

  const first = await app.call('/api/mcp/servers?limit=2', { user });
  t.is(first.status, 200);
  const p1 = (await first.json()) as { servers: View[]; nextCursor?: string };
  t.is(p1.servers.length, 2);
  t.truthy(p1.nextCursor);
  const seen = [...p1.servers];
  let cursor = p1.nextCursor;
  while (cursor) {
    const page = (await (await app.call(`/api/mcp/servers?limit=2&after=${encodeURIComponent(cursor)}`, { user })).json()) as { servers: View[]; nextCursor?: string };
    seen.push(...page.servers);
    cursor = page.nextCursor;
  }
  const names = seen.map((s) => s.serverName);
  t.deepEqual(names, [...names].sort(), 'ordered by name');
  t.is(new Set(names).size, names.length, 'no server twice across pages');
  t.deepEqual(names.filter((n) => n.startsWith('lister-')), ['lister-alpha-0', 'lister-alpha-1', 'lister-alpha-2', 'lister-alpha-3', 'lister-alpha-4']);
  const files = seen.find((s) => s.serverName === 'files');
  t.like(files, { source: 'config', access: 'config', headers: { 'X-Api-Key': '[redacted]' } });
  t.false(names.includes('lister-alpha-private'), "other users' private servers are not listed");

  const search = (await (await app.call('/api/mcp/servers?search=needle', { user })).json()) as { servers: View[] };
  t.deepEqual(search.servers.map((s) => s.serverName), ['lister-alpha-3']);
  const byTitle = (await (await app.call('/api/mcp/servers?search=LISTER%20ALPHA', { user })).json()) as { servers: View[]; nextCursor?: string };
  t.is(byTitle.servers.length, 5);
  t.is(byTitle.nextCursor, undefined);

  const dflt = (await (await app.call('/api/mcp/servers', { user })).json()) as { servers: View[] };
  t.true(dflt.servers.length <= 20);
  t.is((await app.call('/api/mcp/servers?limit=0', { user })).status, 400);
  t.is((await app.call('/api/mcp/servers?limit=abc', { user })).status, 400);
  const big = await app.call('/api/mcp/servers?limit=1000', { user });
  t.is(big.status, 200, 'limits above 100 are capped');
  const bad = await app.call('/api/mcp/servers?after=not-a-cursor', { user });
  t.is(bad.status, 400);
  t.is(((await bad.json()) as { error: string }).error, 'invalid_argument');
});

test('configured servers are readable by everyone and read-only', async (t) => {
  const got = await app.call('/api/mcp/servers/files', { user: 'crud-anyone' });
  t.is(got.status, 200);
  const body = (await got.json()) as View;
  t.like(body, { serverName: 'files', source: 'config', headers: { 'X-Api-Key': '[redacted]' } });
  t.notRegex(JSON.stringify(body), /configured-secret-key/);
  for (const [method, path, json] of [
    ['PATCH', '/api/mcp/servers/files', { config: { title: 'Mine now' } }],
    ['DELETE', '/api/mcp/servers/files', undefined],
    ['POST', '/api/mcp/servers/files/share', { userId: 'x', level: 'view' }],
  ] as const) {
    const res = await app.call(path, { method, user: 'crud-anyone', admin: true, ...(json ? { json } : {}) });
    t.is(res.status, 403, `${method} ${path}`);
    t.is(((await res.json()) as { error: string }).error, 'server_read_only');
  }
  const values = await app.call('/api/mcp/files/auth-values', { user: 'crud-anyone' });
  t.is(values.status, 200);
  t.deepEqual(await values.json(), { success: true, serverName: 'files', authValueFlags: {}, oauth: { tokens: false, refreshToken: false } });
});

test('every route needs authentication', async (t) => {
  for (const [method, path] of [
    ['GET', '/api/mcp/servers'],
    ['POST', '/api/mcp/servers'],
    ['GET', '/api/mcp/servers/files'],
    ['PATCH', '/api/mcp/servers/files'],
    ['DELETE', '/api/mcp/servers/files'],
    ['POST', '/api/mcp/servers/files/share'],
    ['DELETE', '/api/mcp/servers/files/share/bob'],
    ['GET', '/api/mcp/files/auth-values'],
  ] as const) {
    const res = await app.call(path, { method });
    t.is(res.status, 401, `${method} ${path}`);
  }
});
