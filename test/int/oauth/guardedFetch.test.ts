import { gzipSync } from 'node:zlib';
import test from 'ava';
import { EngineError } from '../../../src/errors.js';
import { createGuardedFetch } from '../../../src/oauth/index.js';
import { fakeServer } from './_fakeServer.js';

const code = (err: unknown): string | undefined => (err instanceof EngineError ? err.code : undefined);

for (const url of [
  'https://127.0.0.1/',
  'https://10.1.2.3/',
  'https://172.16.0.1/',
  'https://192.168.1.1/',
  'https://169.254.169.254/latest/meta-data/',
  'https://100.64.0.1/',
  'https://0.0.0.0/',
  'https://[::1]/',
  'https://[fd00:ec2::254]/',
  'https://[fe80::1]/',
  'https://[::ffff:127.0.0.1]/',
  'https://[::ffff:169.254.169.254]/',
  'https://[::]/',
]) {
  test(`a literal non-public address is blocked before connecting: ${url}`, async (t) => {
    const err = await t.throwsAsync(createGuardedFetch()(url));
    t.is(code(err), 'ssrf_blocked');
    t.true(err!.message.includes('"'), 'the host is quoted');
  });
}

test('a hostname resolving to loopback is blocked after DNS resolution', async (t) => {
  const err = await t.throwsAsync(createGuardedFetch()('https://localhost:9/'));
  t.is(code(err), 'ssrf_blocked');
  t.regex(err!.message, /"localhost"/);
});

test('plain http is refused for hosts that are not allowed', async (t) => {
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['127.0.0.1'] })('http://example.com/'));
  t.is(code(err), 'insecure_url');
  t.regex(err!.message, /"example\.com"/);
});

test('plain http is refused for an allowed host that is not loopback', async (t) => {
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['10.0.0.1'] })('http://10.0.0.1/'));
  t.is(code(err), 'insecure_url');
});

test('schemes other than http(s) are refused', async (t) => {
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['*'] })('file:///etc/passwd'));
  t.is(code(err), 'insecure_url');
});

test('an allowed loopback host is reachable over http, with configured headers merged', async (t) => {
  const fake = await fakeServer({
    '/echo': (req, res) => res.end(JSON.stringify({ h: req.headers['x-config'], o: req.headers['x-request'] })),
  });
  t.teardown(fake.stop);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1'], headers: { 'x-config': 'cfg', 'x-request': 'cfg' } });
  const res = await guarded(`${fake.base}/echo`, { headers: { 'x-request': 'req' } });
  t.deepEqual(await res.json(), { h: 'cfg', o: 'req' });
  t.is(res.url, `${fake.base}/echo`);
});

test('a port-qualified allowed entry allows only that port', async (t) => {
  const fake = await fakeServer({ '/ok': { ok: true } });
  t.teardown(fake.stop);
  const port = new URL(fake.base).port;
  t.is((await createGuardedFetch({ allowedDomains: [`127.0.0.1:${port}`] })(`${fake.base}/ok`)).status, 200);
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['127.0.0.1:1'] })(`${fake.base}/ok`));
  t.is(code(err), 'insecure_url');
});

test('a redirect to a private address is refused on the hop', async (t) => {
  const fake = await fakeServer({
    '/to-metadata': (_req, res) => res.writeHead(302, { location: 'https://169.254.169.254/latest/meta-data/' }).end(),
    '/to-localhost': (_req, res, base) => res.writeHead(307, { location: base.replace('127.0.0.1', 'localhost').replace('http:', 'https:') + '/x' }).end(),
  });
  t.teardown(fake.stop);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1'] });
  t.is(code(await t.throwsAsync(guarded(`${fake.base}/to-metadata`))), 'ssrf_blocked');
  t.is(code(await t.throwsAsync(guarded(`${fake.base}/to-localhost`))), 'ssrf_blocked');
  t.deepEqual(fake.hits, ['GET /to-metadata', 'GET /to-localhost']);
});

test('redirects are followed and checked per hop, with credentials dropped across origins', async (t) => {
  const other = await fakeServer({ '/final': (req, res) => res.end(JSON.stringify({ auth: req.headers.authorization ?? null })) });
  const fake = await fakeServer({
    '/a': (_req, res) => res.writeHead(302, { location: '/b' }).end(),
    '/b': (_req, res) => res.writeHead(302, { location: other.base.replace('127.0.0.1', 'localhost') + '/final' }).end(),
  });
  t.teardown(fake.stop);
  t.teardown(other.stop);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1', 'localhost'] });
  const res = await guarded(`${fake.base}/a`, { headers: { authorization: 'Bearer secret' } });
  t.deepEqual(await res.json(), { auth: null });

  const manual = await guarded(`${fake.base}/a`, { redirect: 'manual' });
  t.is(manual.status, 302);
  t.is(manual.headers.get('location'), '/b');
});

test('more than five redirects are refused', async (t) => {
  const fake = await fakeServer({ '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end() });
  t.teardown(fake.stop);
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['127.0.0.1'] })(`${fake.base}/loop`));
  t.is(code(err), 'ssrf_blocked');
  t.is(fake.hits.length, 6);
});

test('a server that never answers times out with UPSTREAM_TIMEOUT', async (t) => {
  const fake = await fakeServer({ '/hang': () => undefined });
  t.teardown(fake.stop);
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['127.0.0.1'], timeoutMs: 150 })(`${fake.base}/hang`));
  t.is(code(err), 'upstream_timeout');
});

test('a body past the cap is cut off with RESPONSE_TOO_LARGE (declared, streamed, compressed)', async (t) => {
  const big = Buffer.alloc(2048, 'a');
  const fake = await fakeServer({
    '/declared': (_req, res) => res.writeHead(200, { 'content-length': String(big.length) }).end(big),
    '/streamed': (_req, res) => {
      res.write(big.subarray(0, 1000));
      setTimeout(() => res.end(big.subarray(1000)), 10);
    },
    '/bomb': (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(1_000_000))),
    '/small': (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('{"ok":true}')),
  });
  t.teardown(fake.stop);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1'], maxResponseBytes: 1024 });
  for (const path of ['/declared', '/streamed', '/bomb']) {
    t.is(code(await t.throwsAsync(guarded(`${fake.base}${path}`))), 'response_too_large', path);
  }
  t.deepEqual(await (await guarded(`${fake.base}/small`)).json(), { ok: true });
});

test('a connection failure surfaces as fetch does, a TypeError', async (t) => {
  const fake = await fakeServer({});
  const base = fake.base;
  await fake.stop();
  const err = await t.throwsAsync(createGuardedFetch({ allowedDomains: ['127.0.0.1'] })(`${base}/gone`));
  t.true(err instanceof TypeError);
});

test('stream mode hands the body on as it arrives, past the deadline, and ends it on abort', async (t) => {
  let finish: (() => void) | undefined;
  const fake = await fakeServer({
    '/events': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      finish = () => res.end('data: two\n\n');
    },
  });
  t.teardown(fake.stop);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1'], timeoutMs: 200, stream: true });
  const abort = new AbortController();
  const res = await guarded(`${fake.base}/events`, { signal: abort.signal });
  const reader = res.body!.getReader();
  t.is(new TextDecoder().decode((await reader.read()).value), 'data: one\n\n', 'the first event arrives before the response ends');
  await new Promise((r) => setTimeout(r, 300)); // longer than the deadline: it covers headers only
  finish!();
  t.is(new TextDecoder().decode((await reader.read()).value), 'data: two\n\n');
  t.true((await reader.read()).done);

  const again = await guarded(`${fake.base}/events`, { signal: abort.signal });
  const r2 = again.body!.getReader();
  await r2.read();
  abort.abort(new Error('closed by caller'));
  await t.throwsAsync(r2.read(), { message: 'closed by caller' });
});

test('stream mode keeps the address checks and the byte cap', async (t) => {
  const fake = await fakeServer({ '/big': (_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(Buffer.alloc(4096, 'a')) });
  t.teardown(fake.stop);
  const err = await t.throwsAsync(createGuardedFetch({ stream: true })('http://127.0.0.1:9/mcp'));
  t.regex(code(err) ?? '', /insecure_url|ssrf_blocked/);
  const guarded = createGuardedFetch({ allowedDomains: ['127.0.0.1'], stream: true, maxResponseBytes: 1024 });
  const res = await guarded(`${fake.base}/big`);
  t.is(code(await t.throwsAsync(res.arrayBuffer())), 'response_too_large');
});
