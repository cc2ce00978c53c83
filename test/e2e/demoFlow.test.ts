import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createLogger } from '../../src/http/logger.js';
import { DEMO_USER, startServer, type RunningServer } from '../../src/server.js';
import { chromiumMissing, launchFresh } from './_browser.js';

const test = anyTest as TestFn<{ server: RunningServer; dir: string }>;

/** Demo mode exactly as `npm start` runs it (MCP_SERVERS unset), on a random port and a temp data folder. */
test.beforeEach(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-e2e-'));
  const server = await startServer(
    { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, EVENT_STORE: `sqlite:${join(dir, 'events.db')}` },
    { logger: createLogger({ level: 'silent' }) },
  );
  t.context = { server, dir };
});
test.afterEach.always(async (t) => {
  await t.context.server?.close();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** oidc-provider's own development login page: any name and password. */
async function signIn(page: Page): Promise<void> {
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', 'alice');
  await page.fill('input[name="password"]', 'any-password');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
}

async function clickConnect(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  const row = page.locator('tr[data-server="demo"]');
  await row.locator('td.state', { hasText: 'disconnected' }).waitFor();
  await Promise.all([page.waitForURL((u) => !u.href.startsWith(base)), row.getByRole('button', { name: 'Connect' }).click()]);
}

test.serial('a user clicks Connect, signs in and consents at the authorization server, and lands on success with the server connected', async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.fail(missing);
  const { server } = t.context;
  const browser = await launchFresh();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();

  await clickConnect(page, server.url);
  t.true(page.url().startsWith(server.demo!.issuer), 'at the authorization server');
  await signIn(page);
  // The consent page: oidc-provider's own "Continue".
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${server.url}/oauth/success?serverName=demo`);
  t.is(await page.locator('#status').textContent(), 'connected');
  t.is(await page.locator('#server').textContent(), 'demo');

  await page.goto(`${server.url}/`);
  await page.locator('tr[data-server="demo"] td.state', { hasText: /^connected$/ }).waitFor();
  t.like(await server.engine.getConnectionStatus(DEMO_USER, 'demo'), { connectionState: 'connected' });
  const html = await page.content();
  t.false(/eyJ[A-Za-z0-9_-]{10,}\./.test(html), 'no token in the page');
});

test.serial('a user who cancels at the consent page lands on error=access_denied and the flow is FAILED', async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.fail(missing);
  const { server } = t.context;
  const browser = await launchFresh();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();

  await clickConnect(page, server.url);
  await signIn(page);
  await page.getByRole('link', { name: /Cancel/ }).click();
  await page.waitForURL(`${server.url}/oauth/error?error=access_denied`);
  t.is(await page.locator('#error').textContent(), 'access_denied');

  const conn = await server.engine.getConnectionStatus(DEMO_USER, 'demo');
  t.like(conn, { connectionState: 'error', error: 'access_denied' });
  t.like(await server.engine.getFlowStatus(conn.flowId!, DEMO_USER), { status: 'FAILED', error: 'access_denied' });
  await page.goto(`${server.url}/`);
  await page.locator('tr[data-server="demo"] td.state', { hasText: 'error' }).waitFor();
  t.pass();
});

test.serial('a callback URL opened in another browser without the binding cookie is refused, and still works in the browser that started it', async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.fail(missing);
  const { server } = t.context;
  const alice = await launchFresh();
  const other = await launchFresh();
  t.teardown(async () => {
    await alice.close();
    await other.close();
  });
  const page = await alice.context.newPage();
  await clickConnect(page, server.url);
  await signIn(page);

  // Hold the authorization server's redirect back instead of delivering it: the consent POST
  // is answered by the test, which walks the AS's redirects itself with the browser's cookies
  // (Playwright does not route requests that follow a redirect).
  let callbackUrl = '';
  const consent = (u: URL) => u.pathname.startsWith('/interaction/');
  await page.route(consent, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    let response = await route.fetch({ maxRedirects: 0 });
    let at = new URL(route.request().url());
    for (let hop = 0; hop < 5 && response.status() >= 300 && response.status() < 400; hop++) {
      at = new URL(response.headers().location!, at);
      if (at.pathname === '/api/mcp/demo/oauth/callback') {
        callbackUrl = at.href;
        break;
      }
      response = await alice.context.request.get(at.href, { maxRedirects: 0 });
    }
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback held by the test' });
  });
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('callback held by the test').waitFor();
  t.true(callbackUrl.startsWith(`${server.url}/api/mcp/demo/oauth/callback?`), 'the AS sent the browser back with a code');

  const stranger = await other.context.newPage();
  await stranger.goto(callbackUrl);
  t.is(stranger.url(), `${server.url}/oauth/error?error=csrf_validation_failed`);
  t.is(await stranger.locator('#error').textContent(), 'csrf_validation_failed');
  t.like(await server.engine.getConnectionStatus(DEMO_USER, 'demo'), { connectionState: 'connecting' }, 'the attempt is still pending');

  await page.goto(callbackUrl);
  t.is(page.url(), `${server.url}/oauth/success?serverName=demo`);
  t.like(await server.engine.getConnectionStatus(DEMO_USER, 'demo'), { connectionState: 'connected' });
});
