import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../flow/deps.js';
import type { EngineMetrics } from './metrics.js';
import { isRequestId } from './params.js';

/**
 * First middleware: a correlation id per request (`X-Request-Id` when it looks like one,
 * else fresh; it goes into every event the request appends), baseline security headers, one
 * access-log line and the request-duration metric. The log line has the path only: query
 * strings carry `code` and `state` on the callback.
 */
export function requestContext(logger: Logger, metrics?: EngineMetrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const given = ctx.get('x-request-id');
    const requestId = given && isRequestId(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : typeof ctx.state.route === 'string' ? ctx.state.route : 'unmatched';
      metrics?.observeRequest(route, ctx.method, ctx.status, seconds);
      logger.info({ requestId, method: ctx.method, path: ctx.path.slice(0, 200), route, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  };
}
