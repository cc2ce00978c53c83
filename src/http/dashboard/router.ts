import { Router } from '@koa/router';
import { sendPage } from '../html.js';
import type { Context, Middleware } from 'koa';
import { DASHBOARD_BODY, DASHBOARD_SCRIPT, DASHBOARD_STYLE } from './page.js';
import { clientsSummary, dashboardSummary, flowsSummary, projectionsSummary, type DashboardSource } from './summary.js';

export interface DashboardRouterOptions {
  /** The embedded projector, or any projection reader (lag then shows as unavailable). */
  projector: DashboardSource;
  /** Admin check run before every dashboard route (the HTTP layer supplies it). */
  authorize?: Middleware;
}

function sendJson(ctx: Context, body: unknown): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

/**
 * The operators' dashboard: `GET /dashboard` (the page) and `GET /dashboard/api/summary |
 * flows | clients | projections` (JSON read from projection state). Mount it with
 * `app.use(router.routes())`; pass `authorize` to guard every route.
 */
export function createDashboardRouter(options: DashboardRouterOptions): Router {
  const router = new Router();
  const source = options.projector;
  const guard: Middleware = options.authorize ?? ((_ctx, next) => next());
  router.get('/dashboard', guard, (ctx) => sendPage(ctx, 200, 'Flow engine dashboard', DASHBOARD_BODY, DASHBOARD_SCRIPT, DASHBOARD_STYLE));
  router.get('/dashboard/api/summary', guard, async (ctx) => sendJson(ctx, await dashboardSummary(source)));
  router.get('/dashboard/api/flows', guard, async (ctx) => sendJson(ctx, await flowsSummary(source)));
  router.get('/dashboard/api/clients', guard, async (ctx) => sendJson(ctx, await clientsSummary(source)));
  router.get('/dashboard/api/projections', guard, async (ctx) => sendJson(ctx, await projectionsSummary(source)));
  return router;
}
