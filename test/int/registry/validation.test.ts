import test from 'ava';
import { configOf, startRegistryApp, type RegistryApp } from './_registryApp.js';

// Serial: each case checks that the store's head did not move, so nothing else may append meanwhile.
let app: RegistryApp;
let owned: string;
test.before(async () => {
  app = await startRegistryApp();
  const res = await app.call('/api/mcp/servers', { method: 'POST', user: 'val-owner', json: configOf('Validation Target') });
  owned = ((await res.json()) as { serverName: string }).serverName;
});
test.after.always(async () => {
  await app?.close();
});

async function refused(t: import('ava').ExecutionContext, init: Parameters<RegistryApp['call']>[1] & { path?: string }, status: number, code: string): Promise<void> {
  const head = await app.head();
  const res = await app.call(init.path ?? '/api/mcp/servers', { method: 'POST', user: 'val-owner', ...init });
  t.is(res.status, status, JSON.stringify(init.json ?? init.body)?.slice(0, 120));
  t.is(((await res.json()) as { error: string }).error, code);
  t.is(await app.head(), head, 'nothing appended');
}

const create = (config: Record<string, unknown>) => ({ json: { config } });

test.serial('malformed, non-JSON and oversized bodies are refused before anything is recorded', async (t) => {
  await refused(t, { body: '{"config": {"title": ', headers: { 'content-type': 'application/json' } }, 400, 'invalid_argument');
  await refused(t, { body: 'title=x&url=https://public.example.test', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type');
  await refused(t, { json: [1, 2] }, 400, 'invalid_server_config');
  await refused(t, { json: 'just a string' }, 400, 'invalid_argument');
  await refused(t, { body: JSON.stringify({ config: { title: 'x', url: 'https://public.example.test/mcp', description: 'y'.repeat(70_000) } }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large');
  await refused(t, { json: {} }, 400, 'invalid_server_config');
  await refused(t, { json: { config: { title: 'x', url: 'https://public.example.test/mcp' }, extra: true } }, 400, 'invalid_server_config');
});

test.serial('titles, descriptions and unknown keys are validated', async (t) => {
  await refused(t, create({ url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: '   ', url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'x'.repeat(101), url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'evil\u202etxt.exe', url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'two\nlines', url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'ok', description: 'bell\u0007', url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'ok', url: 'https://public.example.test/mcp', command: 'rm -rf /' }), 400, 'invalid_server_config');
  await refused(t, create({ title: 42, url: 'https://public.example.test/mcp' }), 400, 'invalid_server_config');
});

test.serial('URLs: https only, plain http only for allowed loopback hosts, no private addresses before or after DNS', async (t) => {
  for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'ftp://public.example.test/', 'not a url', 'http://public.example.test/mcp', 'https://user:pw@public.example.test/mcp']) {
    await refused(t, create({ title: 'u', url }), 400, url === 'not a url' ? 'invalid_server_config' : 'server_url_refused');
  }
  for (const url of [
    'https://10.0.0.5/mcp',
    'https://192.168.1.1/mcp',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/mcp',
    'https://[::ffff:127.0.0.1]/mcp',
    'https://[fd00:ec2::254]/mcp',
    'https://0.0.0.0/mcp',
    'https://internal.example.test/mcp', // resolves to 10.1.2.3
    'https://mixed.example.test/mcp', // one answer is the metadata address
    'https://nowhere.example.test/mcp', // does not resolve
    'http://10.0.0.5/mcp',
  ]) {
    await refused(t, create({ title: 'u', url }), 400, 'server_url_refused');
  }
  await refused(t, create({ title: 'u', url: 'https://public.example.test/mcp', oauth: { token_url: 'https://internal.example.test/token', authorization_url: 'https://public.example.test/authorize' } }), 400, 'server_url_refused');
  // Loopback over plain http is fine when ALLOWED_DOMAINS lists the host (local development).
  const ok = await app.call('/api/mcp/servers', { method: 'POST', user: 'val-owner', json: { config: { title: 'Local Dev', url: 'http://127.0.0.1:9/mcp' } } });
  t.is(ok.status, 201);
});

test.serial('header maps: token names, no CR/LF, no transport headers, size caps', async (t) => {
  const url = 'https://public.example.test/mcp';
  await refused(t, create({ title: 'h', url, headers: { 'X-Evil': 'a\r\nInjected: yes' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'X-Evil': 'a\nb' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'Bad Name': 'x' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'X-Ünï': 'x' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { Host: 'internal' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'x-a': '1', 'X-A': '2' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'X-Big': 'v'.repeat(5000) } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`X-H${i}`, 'v'])) }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'h', url, headers: { 'X-Num': 5 } }), 400, 'invalid_server_config');
});

test.serial('OAuth options follow the MCP_SERVERS schema', async (t) => {
  const url = 'https://public.example.test/mcp';
  await refused(t, create({ title: 'o', url, oauth: { client_secret: 's' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'o', url, oauth: { token_url: 'https://public.example.test/token' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'o', url, oauth: { token_endpoint_auth_method: 'private_key_jwt' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'o', url, oauth: { client_metadata_url: 'http://public.example.test/cimd' } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'o', url, oauth: { unknown_option: true } }), 400, 'invalid_server_config');
  await refused(t, create({ title: 'o', url, oauth: { authorization_url: 'javascript:alert(1)', token_url: 'https://public.example.test/token' } }), 400, 'invalid_server_config');
});

test.serial('a client metadata document URL without a path is refused before anything is recorded', async (t) => {
  const url = 'https://public.example.test/mcp';
  for (const client_metadata_url of ['https://cimd.example.com', 'https://cimd.example.com/']) {
    await refused(t, create({ title: 'c', url, oauth: { client_metadata_url } }), 400, 'invalid_server_config');
    await refused(t, { path: `/api/mcp/servers/${owned}`, method: 'PATCH', json: { config: { oauth: { client_metadata_url } } } }, 400, 'invalid_server_config');
  }
});

test.serial('a body of many unknown keys gets a short 400 message carrying none of their line breaks, markup or bidi overrides', async (t) => {
  const hostile = 'k\u202e\r\n"}{<img src=x>';
  const keys = { [hostile]: 1, ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`filler-${String(i).padStart(3, '0')}-${'x'.repeat(90)}`, 1])) };
  for (const [path, json, code] of [
    ['/api/mcp/servers', { config: { title: 'k', url: 'https://public.example.test/mcp', ...keys } }, 'invalid_server_config'],
    [`/api/mcp/servers/${owned}/share`, { userId: 'someone', level: 'view', ...keys }, 'invalid_argument'],
  ] as const) {
    const head = await app.head();
    const res = await app.call(path, { method: 'POST', user: 'val-owner', json });
    t.is(res.status, 400);
    const body = (await res.json()) as { error: string; message: string };
    t.is(body.error, code);
    t.true(body.message.length <= 300, `${body.message.length} characters`);
    t.false(/[\r\n<>\u202e]/.test(body.message), body.message);
    t.regex(body.message, /unknown keys .* and 298 more$/, 'three keys named, the rest counted');
    t.is(await app.head(), head, 'nothing appended');
  }
});

test.serial('PATCH validates the same way, and an empty or unknown change is refused', async (t) => {
  const path = `/api/mcp/servers/${owned}`;
  await refused(t, { path, method: 'PATCH', json: { config: {} } }, 400, 'invalid_server_config');
  await refused(t, { path, method: 'PATCH', json: { config: { serverName: 'renamed' } } }, 400, 'invalid_server_config');
  await refused(t, { path, method: 'PATCH', json: { config: { url: 'https://10.0.0.1/mcp' } } }, 400, 'server_url_refused');
  await refused(t, { path, method: 'PATCH', json: { config: { headers: { A: 'x\r\ny' } } } }, 400, 'invalid_server_config');
  await refused(t, { path, method: 'PATCH', json: { title: 'no config wrapper' } }, 400, 'invalid_server_config');
  await refused(t, { path: `${path}/share`, method: 'POST', json: { userId: 'val-owner', level: 'view' } }, 400, 'invalid_argument');
  await refused(t, { path: `${path}/share`, method: 'POST', json: { userId: 'x', level: 'owner' } }, 400, 'invalid_argument');
  await refused(t, { path: `${path}/share`, method: 'POST', json: { userId: '', level: 'view' } }, 400, 'invalid_argument');
  // Server names that cannot exist are refused or unknown without touching the store.
  await refused(t, { path: '/api/mcp/servers/..%2F..%2Fetc', method: 'GET' }, 404, 'not_found');
  await refused(t, { path: '/api/mcp/servers/%E2%80%AEevil', method: 'GET' }, 400, 'invalid_argument');
});
