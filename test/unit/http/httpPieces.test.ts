import test from 'ava';
import { PassThrough } from 'node:stream';
import { bindingCookieName } from '../../../src/http/bindingCookie.js';
import { readCookie, serializeCookie } from '../../../src/http/cookies.js';
import { statusOf } from '../../../src/http/errorStatus.js';
import { toResponse } from '../../../src/http/errorHandler.js';
import { escapeHtml } from '../../../src/http/html.js';
import { signHs256Jwt, verifyHs256Jwt } from '../../../src/http/jwt.js';
import { knownErrorCode } from '../../../src/http/landingPages.js';
import { createLogger } from '../../../src/http/logger.js';
import { EngineError } from '../../../src/errors.js';

const SECRET = 'unit-secret-unit-secret-unit-secret-00';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const s = T0 / 1000;

test('a valid HS256 token yields its claims; exp and nbf are checked with a 30 s leeway', (t) => {
  const token = signHs256Jwt({ sub: 'alice', role: 'admin', exp: s + 60 }, SECRET);
  t.like(verifyHs256Jwt(token, SECRET, T0), { ok: true, claims: { sub: 'alice', role: 'admin' } });
  t.true(verifyHs256Jwt(token, SECRET, T0 + 80_000).ok, 'within leeway');
  t.like(verifyHs256Jwt(token, SECRET, T0 + 100_000), { ok: false, reason: 'token expired' });
  const early = signHs256Jwt({ sub: 'alice', exp: s + 600, nbf: s + 300 }, SECRET);
  t.like(verifyHs256Jwt(early, SECRET, T0), { ok: false, reason: 'token not yet valid' });
  t.like(verifyHs256Jwt(token, `${SECRET}x`, T0), { ok: false, reason: 'bad signature' });
});

test('a token whose header names another algorithm is refused before its signature is checked', (t) => {
  const [, payload] = signHs256Jwt({ sub: 'alice', exp: s + 60 }, SECRET).split('.');
  for (const alg of ['none', 'None', 'HS384', 'RS256', 'ES256', '']) {
    const header = Buffer.from(JSON.stringify({ alg })).toString('base64url');
    t.like(verifyHs256Jwt(`${header}.${payload}.`, SECRET, T0), { ok: false, reason: 'algorithm must be HS256' }, alg);
  }
  const crit = Buffer.from(JSON.stringify({ alg: 'HS256', crit: ['exp'] })).toString('base64url');
  t.false(verifyHs256Jwt(`${crit}.${payload}.x`, SECRET, T0).ok);
});

test('binding cookies are per server, fixed-length, and __Secure- prefixed for https', (t) => {
  const a = bindingCookieName('files', { secure: false });
  t.regex(a, /^mcp_oauth_binding_[0-9a-f]{12}$/);
  t.not(a, bindingCookieName('mail', { secure: false }));
  t.is(bindingCookieName('fïlés 🔥', { secure: false }).length, a.length);
  t.regex(bindingCookieName('files', { secure: true }), /^__Secure-mcp_oauth_binding_[0-9a-f]{12}$/);
  const line = serializeCookie(bindingCookieName('files', { secure: true }), 'abc', { maxAgeSeconds: 60, path: '/api/mcp', secure: true, httpOnly: true, sameSite: 'Lax' });
  t.is(line, `${bindingCookieName('files', { secure: true })}=abc; Path=/api/mcp; Max-Age=60; SameSite=Lax; Secure; HttpOnly`);
  t.throws(() => serializeCookie('bad name', 'v', { maxAgeSeconds: 1, path: '/', secure: false, httpOnly: true, sameSite: 'Lax' }));
  t.throws(() => serializeCookie('n', 'v;injected', { maxAgeSeconds: 1, path: '/', secure: false, httpOnly: true, sameSite: 'Lax' }));
});

test('readCookie finds one cookie and ignores malformed values', (t) => {
  t.is(readCookie('a=1; mcp=xyz; b=2', 'mcp'), 'xyz');
  t.is(readCookie('mcp=first; mcp=second', 'mcp'), 'first');
  t.is(readCookie('mcp="quoted;"', 'mcp'), undefined);
  t.is(readCookie(undefined, 'mcp'), undefined);
  t.is(readCookie(`x=${'a'.repeat(20_000)}; mcp=1`, 'mcp'), undefined);
});

test('error codes map to 4xx for bad input, 5xx only for upstream or internal failures, and no message leaks from a 500', (t) => {
  t.is(statusOf('unauthenticated'), 401);
  t.is(statusOf('unknown_server'), 404);
  t.is(statusOf('payload_too_large'), 413);
  t.is(statusOf('discovery_failed'), 502);
  t.is(statusOf('upstream_timeout'), 504);
  t.is(statusOf('something_new'), 500);
  t.deepEqual(toResponse(new EngineError('decryption_failed', 'key abc123 failed')), { status: 500, body: { error: 'decryption_failed', message: 'Internal error' } });
  t.deepEqual(toResponse(new TypeError('boom at /srv/x.ts:1')), { status: 500, body: { error: 'internal', message: 'Internal error' } });
  t.deepEqual(toResponse(Object.assign(new Error('request entity too large'), { status: 413, expose: true })).status, 413);
  t.is(toResponse(new URIError('URI malformed')).body.error, 'invalid_argument');
});

test('landing pages know a closed set of codes; HTML escaping covers attribute breakers', (t) => {
  t.is(knownErrorCode('access_denied'), 'access_denied');
  t.is(knownErrorCode('csrf_validation_failed'), 'csrf_validation_failed');
  t.is(knownErrorCode('__proto__'), 'unknown_error');
  t.is(knownErrorCode(['access_denied']), 'unknown_error');
  t.is(escapeHtml(`<a href="x" onclick='y'>&`), '&#60;a href&#61;&#34;x&#34; onclick&#61;&#39;y&#39;&#62;&#38;');
});

test('the logger censors credentials, cookies, state and query strings', async (t) => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const logger = createLogger({ level: 'info', destination: out });
  logger.info({
    authorization: 'Bearer sekret-jwt',
    req: { headers: { cookie: 'mcp_oauth_binding_x=sekret-binding', authorization: 'Bearer sekret-2' } },
    state: 'sekret-state',
    query: { code: 'sekret-code' },
    tokens: { accessToken: 'sekret-at', refresh_token: 'sekret-rt' },
    code: 'callback_failed',
  }, 'hello');
  await new Promise((r) => setImmediate(r));
  const line = chunks.join('');
  t.true(line.includes('hello'));
  t.false(/sekret/.test(line), line);
  t.true(line.includes('"code":"callback_failed"'), 'error codes stay readable');
});

test('a server configuration found unusable at request time answers 502 with its message, not an opaque 500', (t) => {
  const err = new EngineError('config_invalid', 'client_metadata_url "https://cimd.example.com" must be an https URL with a path');
  t.deepEqual(toResponse(err), { status: 502, body: { error: 'config_invalid', message: err.message } });
});
