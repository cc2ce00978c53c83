import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import { chromium } from 'playwright-core';
import { createDashboardRouter } from '../../src/http/dashboard/index.js';
import { startProjector, startStaleClientWorker } from '../../src/projector/index.js';
import { createMemoryProjectionState } from '../../src/store/projectionState/index.js';
import { openEventStore } from '../../src/store/index.js';
import { seedFlow, seedRegistration, type FlowPlan } from '../support/projections/seed.js';

const T0 = Date.parse('2026-06-10T08:00:00.000Z');
const HOUR = 3_600_000;

/** The seeded log, described so the expected figures can be counted from the plan itself. */
function plans(regFiles: string, regDocs: string): FlowPlan[] {
  const p: FlowPlan[] = [];
  let n = 0;
  const add = (serverName: string, hour: number, outcome: FlowPlan['outcome'], registration?: FlowPlan['registration']) =>
    p.push({ flowId: `f${n}`, userId: `user${n++}`, serverName, at: T0 + hour * HOUR + n * 1000, outcome, ...(registration ? { registration } : {}) });
  for (let i = 0; i < 5; i++) add('files', 0, { kind: 'completed', after: 4_000 + i * 10_000 }, { key: regFiles, clientId: 'client-files', reused: i > 0 });
  for (let i = 0; i < 3; i++) add('files', 1, { kind: 'callbackError', error: 'access_denied', after: 20_000 });
  add('files', 1, { kind: 'cancelled', after: 3_000 });
  for (let i = 0; i < 2; i++) add('docs', 1, { kind: 'completed', after: 45_000 }, { key: regDocs, clientId: 'client-docs', reused: i > 0 });
  add('docs', 2, { kind: 'rejected', after: 10_000 }, { key: regDocs, clientId: 'client-docs', reused: true });
  add('docs', 2, { kind: 'failed', reason: 'token_request_failed', after: 9_000 });
  add('docs', 2, { kind: 'expired' });
  add('docs', 3, { kind: 'pending' });
  return p;
}

test('the dashboard page shows the figures of the seeded log in a real browser', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  const regFiles = await seedRegistration(store, 'files', 'client-files', T0 - 60_000);
  const regDocs = await seedRegistration(store, 'docs', 'client-docs', T0 - 60_000);
  const seeded = plans(regFiles, regDocs);
  for (const plan of seeded) await seedFlow(store, plan);
  const projector = startProjector({ store, stateStore: createMemoryProjectionState() });
  await projector.ready;

  const app = new Koa();
  let authorized = 0;
  const router = createDashboardRouter({ projector, authorize: async (_ctx, next) => { authorized++; await next(); } });
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
    await projector.stop();
    await store.close();
  });

  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`http://127.0.0.1:${port}/dashboard`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  const text = async (testid: string) => (await page.getByTestId(testid).first().textContent())?.trim();

  // Totals and per-server status counts, counted from the plan.
  const count = (server: string | null, kinds: string[]) => seeded.filter((p) => (server === null || p.serverName === server) && kinds.includes(p.outcome.kind)).length;
  const STATUS_KINDS: Record<string, string[]> = {
    PENDING: ['pending'], COMPLETED: ['completed'], FAILED: ['callbackError', 'failed', 'rejected'], CANCELLED: ['cancelled'], EXPIRED: ['expired'],
  };
  t.is(await text('total-initiated'), String(seeded.length));
  for (const [status, kinds] of Object.entries(STATUS_KINDS)) {
    t.is(await text(`total-${status}`), String(count(null, kinds)), `total ${status}`);
    for (const server of ['files', 'docs']) t.is(await text(`server-${server}-${status}`), String(count(server, kinds)), `${server} ${status}`);
  }
  // Failure reasons per server.
  t.is(await text('error-files-access_denied'), '3');
  t.is(await text('error-docs-client_rejected'), '1');
  t.is(await text('error-docs-token_request_failed'), '1');
  t.is(await text('error-docs-flow_expired'), '1');
  // Durations: files took 4, 14, 24, 34, 44 s; docs 45 s twice (buckets ≤5, ≤15, ≤30, ≤60, ...).
  t.is(await text('duration-0'), '1');
  t.is(await text('duration-1'), '1');
  t.is(await text('duration-2'), '1');
  t.is(await text('duration-3'), '4');
  // The chart: one bar group per hour with flows, completed segments matching the plan.
  const hours = await page.locator('[data-testid="chart"] g[data-hour]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-hour')));
  t.deepEqual(hours, ['2026-06-10T08', '2026-06-10T09', '2026-06-10T10', '2026-06-10T11']);
  const completed = await page.locator('[data-testid="chart"] rect[data-series="completed"]').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
  t.is(completed.reduce((a, b) => a + b, 0), count(null, ['completed']));
  // Client health: docs was rejected after reuse, so it is stale; files is healthy.
  t.is(await text(`reg-stale-${regDocs}`), 'stale (rejected_after_reuse)');
  t.is(await text(`reg-stale-${regFiles}`), 'no');
  t.is(await text(`reg-status-${regFiles}`), 'registered');
  t.is(await text('stale-cleanups'), '0');
  // Projection lag: caught up.
  for (const name of projector.names()) t.is(await text(`lag-${name}`), '0', `lag of ${name}`);

  // The stale-client worker's cleanup shows up after a reload.
  const worker = startStaleClientWorker({ store, reader: projector, clock: { now: () => new Date(T0 + 5 * HOUR) }, intervalMs: 0 });
  t.is(await worker.tick(), 1);
  await worker.stop();
  await projector.catchUp(5000);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  t.is(await text('stale-cleanups'), '1');
  t.is(await text(`reg-status-${regDocs}`), 'discarded');
  t.truthy(await page.getByTestId('cleanup-client-docs').count());

  const api = await (await page.request.get(`http://127.0.0.1:${port}/dashboard/api/projections`)).json();
  t.is(api.length, projector.names().length);
  t.true(authorized >= 3, 'every route went through the authorize middleware');
  t.deepEqual(errors, []);
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
});
