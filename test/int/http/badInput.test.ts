import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { createHmac } from 'node:crypto';
import { followAuthorization, type CallbackParams } from '../../support/browserless.js';
import { cookieFrom, jwt, SECRET, startApp, type AppHarness } from './_app.js';

/**
 * Bad input against one running server. Serial: every test checks that the store's `$all`
 * head did not move, which only means something while nothing else appends.
 */
interface Ctx {
  app: AppHarness;
  /** alice's completed flow. */
  doneFlow: string;
  doneCallback: CallbackParams;
  /** bob's pending flow, its undelivered callback and bob's binding cookie. */
  pendingFlow: string;
  pendingCallback: CallbackParams;
  bobCookie: string;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const app = await startApp();
  const a = await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'alice' });
  const aBody = (await a.json()) as { flowId: string; oauthUrl: string };
  const doneCallback = await followAuthorization(aBody.oauthUrl, { redirectUri: app.redirectUri('files') });
  const done = await app.call(new URL(doneCallback.url).pathname + new URL(doneCallback.url).search, { cookie: cookieFrom(a)!.pair });
  if (!done.headers.get('location')?.includes('/oauth/success')) throw new Error('setup: alice could not connect');
  const b = await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'bob' });
  const bBody = (await b.json()) as { flowId: string; oauthUrl: string };
  const pendingCallback = await followAuthorization(bBody.oauthUrl, { redirectUri: app.redirectUri('files') });
  t.context = { app, doneFlow: aBody.flowId, doneCallback, pendingFlow: bBody.flowId, pendingCallback, bobCookie: cookieFrom(b)!.pair };
});
test.after.always(async (t) => {
  await t.context.app?.close();
});

async function expectError(t: ExecutionContext<Ctx>, res: Response, status: number, code: string, what: string): Promise<void> {
  t.is(res.status, status, `${what}: status`);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/, `${what}: JSON`);
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  t.deepEqual(Object.keys(body).sort(), ['error', 'message'], `${what}: { error, message } only`);
  t.is(body.error, code, `${what}: code`);
  t.notRegex(text, /\bat .+\.(ts|js):\d+/, `${what}: no stack`);
}

/** Runs the requests and checks the store's head did not move and bob's attempt is still pending. */
async function unchanged(t: ExecutionContext<Ctx>, fn: () => Promise<void>): Promise<void> {
  const { app } = t.context;
  const before = await app.head();
  const tokenRequests = app.peers.tokenRequests();
  await fn();
  t.is(await app.head(), before, 'nothing appended');
  t.is(app.peers.tokenRequests(), tokenRequests, 'no token request');
  const bob = await app.engine.getFlowStatus(t.context.pendingFlow, 'bob');
  t.is(bob?.status, 'PENDING', "bob's attempt untouched");
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
function signed(header: object, payload: object, secret = SECRET): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac(/512/.test(JSON.stringify(header)) ? 'sha512' : 'sha256', secret).update(body).digest('base64url')}`;
}

const BAD_AUTH: Array<[string, string | undefined]> = [
  ['no Authorization header', undefined],
  ['empty bearer', 'Bearer '],
  ['not a JWT', 'Bearer garbage'],
  ['Basic scheme', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
  ['forged signature (other secret)', `Bearer ${jwt('alice', {}, 'another-secret-another-secret-another-secret')}`],
  ['expired', `Bearer ${jwt('alice', { exp: now() - 3600 })}`],
  ['not yet valid (nbf)', `Bearer ${jwt('alice', { nbf: now() + 3600 })}`],
  ['alg none, no signature', `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: now() + 3600 })}.`],
  ['alg None', `Bearer ${b64({ alg: 'None' })}.${b64({ sub: 'alice', exp: now() + 3600 })}.`],
  ['alg HS512', `Bearer ${signed({ alg: 'HS512' }, { sub: 'alice', exp: now() + 3600 })}`],
  ['alg RS256 header over an HMAC', `Bearer ${signed({ alg: 'RS256' }, { sub: 'alice', exp: now() + 3600 })}`],
  ['no sub', `Bearer ${jwt(undefined)}`],
  ['empty sub', `Bearer ${jwt('')}`],
  ['numeric sub', `Bearer ${signed({ alg: 'HS256' }, { sub: 42, exp: now() + 3600 })}`],
  ['no exp', `Bearer ${signed({ alg: 'HS256' }, { sub: 'alice' })}`],
  ['payload not JSON', `Bearer ${b64({ alg: 'HS256' })}.${Buffer.from('nope').toString('base64url')}.${'A'.repeat(43)}`],
  ['oversized token', `Bearer ${'a'.repeat(9000)}.b.c`],
  ['signature stripped', `Bearer ${jwt('alice').split('.').slice(0, 2).join('.')}.`],
];

test.serial('API routes refuse missing, forged, expired and alg-none JWTs with 401 unauthenticated', async (t) => {
  const { app, doneFlow } = t.context;
  const routes: Array<[string, string]> = [
    ['POST', '/api/mcp/files/reinitialize'],
    ['GET', '/api/mcp/files/oauth/initiate'],
    ['POST', '/api/mcp/files/oauth/bind'],
    ['GET', `/api/mcp/oauth/status/${doneFlow}`],
    ['POST', '/api/mcp/oauth/cancel/files'],
    ['GET', '/api/mcp/connection/status'],
    ['GET', '/api/mcp/connection/status/files'],
    ['GET', `/api/mcp/flows/${doneFlow}/history`],
  ];
  await unchanged(t, async () => {
    for (const [method, path] of routes) {
      for (const [what, authorization] of BAD_AUTH) {
        const res = await app.call(path, { method, headers: authorization ? { authorization } : {} });
        t.is(res.headers.get('www-authenticate'), 'Bearer realm="flow-engine"');
        await expectError(t, res, 401, 'unauthenticated', `${method} ${path} with ${what}`);
      }
    }
  });
});

test.serial('the dashboard is for admins only', async (t) => {
  const { app } = t.context;
  await unchanged(t, async () => {
    await expectError(t, await app.call('/dashboard'), 401, 'unauthenticated', 'no token');
    await expectError(t, await app.call('/dashboard', { user: 'alice' }), 403, 'forbidden', 'not an admin');
    const admin = await app.call('/dashboard', { headers: { authorization: `Bearer ${jwt('root', { role: 'admin' })}` } });
    t.is(admin.status, 200);
    await admin.text();
  });
});

test.serial('unknown, unicode, malformed and oversized server names get a 4xx with a stable code', async (t) => {
  const { app } = t.context;
  const names: Array<[string, number, string]> = [
    ['nope', 404, 'unknown_server'],
    [encodeURIComponent('fïlés'), 404, 'unknown_server'],
    [encodeURIComponent('🔥'), 404, 'unknown_server'],
    [encodeURIComponent('files '), 404, 'unknown_server'],
    [encodeURIComponent('../../etc/passwd'), 404, 'unknown_server'],
    ['__proto__', 404, 'unknown_server'],
    ['constructor', 404, 'unknown_server'],
    ['%00', 400, 'invalid_argument'],
    ['files%0Aadmin', 400, 'invalid_argument'],
    ['%E2%80%AEfiles', 400, 'invalid_argument'],
    ['a'.repeat(300), 400, 'invalid_argument'],
    // Undecodable percent-encoding stays literal: a name no server has.
    ['%E0%A4%A', 404, 'unknown_server'],
    ['%ZZ', 404, 'unknown_server'],
  ];
  const routes: Array<[string, (n: string) => string]> = [
    ['POST', (n) => `/api/mcp/${n}/reinitialize`],
    ['GET', (n) => `/api/mcp/${n}/oauth/initiate`],
    ['POST', (n) => `/api/mcp/${n}/oauth/bind`],
    ['POST', (n) => `/api/mcp/oauth/cancel/${n}`],
    ['GET', (n) => `/api/mcp/connection/status/${n}`],
  ];
  await unchanged(t, async () => {
    for (const [method, path] of routes) {
      for (const [name, status, code] of names) {
        await expectError(t, await app.call(path(name), { method, user: 'mallory' }), status, code, `${method} ${path(name)}`);
      }
    }
  });
});

test.serial("malformed, unknown and other users' flow ids all get the same 404", async (t) => {
  const { app, doneFlow, pendingFlow } = t.context;
  const ids = [doneFlow, pendingFlow, 'A'.repeat(22), 'x', '..%2F..%2Fx', 'a'.repeat(1000), encodeURIComponent('flöw-ïd-0123456789'), '%00', '%E0%A4%A'];
  await unchanged(t, async () => {
    for (const id of ids) {
      for (const path of [`/api/mcp/oauth/status/${id}`, `/api/mcp/flows/${id}/history`]) {
        const res = await app.call(path, { user: 'mallory' });
        t.is(res.status, 404, path);
        t.deepEqual(await res.json(), { error: 'not_found', message: 'Flow not found' }, `${path}: no existence leak`);
      }
    }
    // The owner does see it: the 404s above were not about the id's format.
    t.is((await app.call(`/api/mcp/oauth/status/${doneFlow}`, { user: 'alice' })).status, 200);
  });
});

test.serial('oversized and malformed bodies are refused before anything happens', async (t) => {
  const { app } = t.context;
  await unchanged(t, async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(64 * 1024) });
    await expectError(t, await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'mallory', body: big, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large', 'big JSON');
    await expectError(t, await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'mallory', body: `a=${'x'.repeat(64 * 1024)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 413, 'payload_too_large', 'big form');
    await expectError(t, await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'mallory', body: 'y'.repeat(64 * 1024), headers: { 'content-type': 'text/plain' } }), 413, 'payload_too_large', 'big text');
    await expectError(t, await app.call('/api/mcp/files/oauth/bind', { method: 'POST', user: 'mallory', body: '{"a":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_argument', 'broken JSON');
    await expectError(t, await app.call('/api/mcp/oauth/cancel/files', { method: 'POST', user: 'mallory', body: '{"a":1}', headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' } }), 415, 'unsupported_media_type', 'unknown encoding');
  });
});

test.serial('rejected callbacks redirect to the error page with a stable code, append nothing and make no token request', async (t) => {
  const { app, pendingCallback: p, doneCallback: d, bobCookie } = t.context;
  const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
  const cb = (query: string, server = 'files') => `/api/mcp/${server}/oauth/callback?${query}`;
  const otherCookie = bobCookie.replace(/=.*/, '=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  const cases: Array<[string, string, string | undefined, string]> = [
    ['no parameters', cb(''), bobCookie, 'missing_state'],
    ['code without state', cb(q({ code: p.code! })), bobCookie, 'missing_state'],
    ['state given twice', cb(`state=${p.state}&state=${p.state}&code=${p.code}`), bobCookie, 'missing_state'],
    ['oversized state', cb(q({ state: 'x'.repeat(4000), code: p.code! })), bobCookie, 'missing_state'],
    ['garbage state', cb(q({ state: 'garbage', code: p.code! })), bobCookie, 'invalid_state'],
    ['unicode state', cb(q({ state: `${p.state!.split('.')[0]}.ünïcødé-ünïcødé-ünïcødé-ünïcødé-ü`, code: p.code! })), bobCookie, 'invalid_state'],
    ['state with a forged secret', cb(q({ state: `${p.state!.split('.')[0]}.${'B'.repeat(43)}`, code: p.code! })), bobCookie, 'invalid_state'],
    ['state on another server path', cb(q({ state: p.state!, code: p.code! }), 'nope'), bobCookie, 'invalid_state'],
    ['control character server name', cb(q({ state: p.state!, code: p.code! }), '%00'), bobCookie, 'invalid_state'],
    ['no binding cookie', cb(q({ state: p.state!, code: p.code! })), undefined, 'csrf_validation_failed'],
    ['wrong binding cookie', cb(q({ state: p.state!, code: p.code! })), otherCookie, 'csrf_validation_failed'],
    ['a leaked state with error=access_denied', cb(q({ state: p.state!, error: 'access_denied' })), undefined, 'csrf_validation_failed'],
    ["alice's completed callback replayed without her cookie", cb(q({ state: d.state!, code: d.code! })), undefined, 'csrf_validation_failed'],
    ["alice's completed callback replayed with bob's cookie", cb(q({ state: d.state!, code: d.code! })), bobCookie, 'csrf_validation_failed'],
  ];
  await unchanged(t, async () => {
    for (const [what, path, cookie, code] of cases) {
      const res = await app.call(path, cookie ? { cookie } : {});
      t.is(res.status, 302, what);
      t.is(res.headers.get('location'), `${app.base}/oauth/error?error=${code}`, what);
      t.is(res.headers.get('cache-control'), 'no-store', what);
      t.falsy(cookieFrom(res), `${what}: the legitimate attempt's cookie is left alone`);
      await res.text();
    }
  });
});

test.serial('open-redirect attempts never leave PUBLIC_URL', async (t) => {
  const { app, pendingCallback: p } = t.context;
  await unchanged(t, async () => {
    const attempts = [
      `/api/mcp/files/oauth/callback?redirect_uri=${encodeURIComponent('https://evil.example/')}&next=//evil.example`,
      `/api/mcp/${encodeURIComponent('//evil.example')}/oauth/callback?state=${p.state}&code=x`,
      `/api/mcp/files/oauth/callback?state=${p.state}&error=${encodeURIComponent('https://evil.example')}`,
      `/api/mcp/files/oauth/callback?serverName=${encodeURIComponent('https://evil.example')}&state=${p.state}`,
    ];
    for (const path of attempts) {
      const res = await app.call(path);
      const location = res.headers.get('location') ?? '';
      t.true(location.startsWith(`${app.base}/oauth/error?error=`), path);
      t.false(location.includes('evil'), path);
      await res.text();
    }
    const slash = await app.call('//evil.example/');
    t.is(slash.status, 404);
    t.is(slash.headers.get('location'), null);
    await slash.text();
  });
});

test.serial('landing pages escape server names, whitelist error codes and forbid everything by CSP', async (t) => {
  const { app } = t.context;
  await unchanged(t, async () => {
    const xss = '<script>alert(1)</script>';
    const ok = await app.call(`/oauth/success?serverName=${encodeURIComponent(xss)}`);
    t.is(ok.status, 200);
    const okHtml = await ok.text();
    t.false(okHtml.includes(xss));
    t.true(okHtml.includes('&#60;script&#62;'));
    t.regex(ok.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    t.regex(ok.headers.get('content-security-policy') ?? '', /script-src 'none'/);
    t.is(ok.headers.get('cache-control'), 'no-store');
    t.is(ok.headers.get('x-frame-options'), 'DENY');

    const bad = await app.call(`/oauth/error?error=${encodeURIComponent('<img src=x onerror=alert(1)>Your account is locked, call +1-555')}`);
    const badHtml = await bad.text();
    t.false(badHtml.includes('<img'));
    t.false(badHtml.includes('locked'), 'no reflected text');
    t.true(badHtml.includes('unknown_error'));
    t.is(bad.headers.get('cache-control'), 'no-store');

    const denied = await (await app.call('/oauth/error?error=access_denied')).text();
    t.true(denied.includes('Access was denied'));
    const weird = await (await app.call(`/oauth/success?serverName=${encodeURIComponent('a\u202Eevil')}`)).text();
    t.false(weird.includes('\u202E'), 'bidi overrides are not displayed');
  });
});

test.serial('unknown routes and methods answer JSON 404 and 405', async (t) => {
  const { app } = t.context;
  await unchanged(t, async () => {
    await expectError(t, await app.call('/api/mcp/nope', { user: 'alice' }), 404, 'not_found', 'unknown API route');
    await expectError(t, await app.call('/api/mcp', { user: 'alice' }), 404, 'not_found', 'bare prefix');
    await expectError(t, await app.call('/nope/%E0%A4%A'), 404, 'not_found', 'unknown path with bad encoding');
    await expectError(t, await app.call('/api/mcp/files/reinitialize', { method: 'GET', user: 'alice' }), 405, 'method_not_allowed', 'GET on a POST route');
    await expectError(t, await app.call('/api/mcp/files/reinitialize', { method: 'DELETE', user: 'alice' }), 405, 'method_not_allowed', 'DELETE');
    await expectError(t, await app.call('/metrics', { method: 'POST' }), 404, 'not_found', 'POST /metrics');
    const health = await app.call('/healthz');
    t.deepEqual(await health.json(), { status: 'ok' });
  });
});
