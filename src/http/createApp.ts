import Koa, { type Middleware } from 'koa';
import type { Engine } from '../engine.js';
import { EngineError, ErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../flow/deps.js';
import { jwtAuthenticator, type Authenticate } from './authenticate.js';
import { errorHandler } from './errorHandler.js';
import { createGrantRouter } from './grantRoutes.js';
import { errorPage, successPage } from './landingPages.js';
import { createMcpRouter, type HistoryProvider } from './mcpRouter.js';
import { createMetrics, type EngineMetrics } from './metrics.js';
import type { ServerRegistry } from '../registry/index.js';
import { createServerRouter } from './serverRoutes.js';
import { requestContext } from './requestContext.js';

export interface AppOptions {
  /** `PUBLIC_URL` without a trailing slash. */
  publicUrl: string;
  /** `JWT_SECRET` for the default authenticator; not needed when `authenticate` is given. */
  jwtSecret?: string;
  /** Replaces the default bearer-JWT authenticator (host applications). */
  authenticate?: Authenticate;
  logger?: Logger;
  /** Share the registry whose `observer` the engine was created with, so flow counters show. */
  metrics?: EngineMetrics;
  /** The host's own landing pages instead of `/oauth/success` and `/oauth/error`. */
  successUrl?: string;
  errorUrl?: string;
  /** Link shown on the landing pages (demo mode: the demo page). */
  homeUrl?: string;
  history?: HistoryProvider;
  /** After a completed callback, connect to the MCP server with the new grant (default true). */
  verifyConnections?: boolean;
  /** The MCP server registry (`src/registry`): mounts `/api/mcp/servers…` and `/:serverName/auth-values`. */
  servers?: ServerRegistry;
  /**
   * Extra middleware mounted before the 404 fallback: the operators' dashboard
   * (`src/http/dashboard`), the demo page. Each handles its own paths and calls `next()` for
   * the others.
   */
  // Router middleware carries its own context type; any Koa middleware fits here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  mount?: ReadonlyArray<Middleware<any, any>>;
  /** Trust `X-Forwarded-*` (behind a reverse proxy). Default false. */
  proxy?: boolean;
}

/** The Koa app plus a way to wait for work that outlives requests (call before closing the store). */
export type EngineApp = Koa & { drain(): Promise<void> };

/**
 * The engine's web application: the `/api/mcp` routes, the landing pages, `/metrics`,
 * `/healthz`, and whatever the composition mounts (dashboard, demo page). Every error is JSON
 * `{ error, message }` from one handler; unknown routes are 404 `not_found`.
 *
 * @see architecture.md §6 (the HTTP contract)
 */
export function createApp(engine: Engine, options: AppOptions): EngineApp {
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? createMetrics();
  const authenticate = options.authenticate ?? (options.jwtSecret ? jwtAuthenticator(options.jwtSecret) : undefined);
  if (!authenticate) throw new EngineError(ErrorCode.CONFIG_INVALID, 'JWT_SECRET: required (or pass an authenticate function)', { details: { key: 'JWT_SECRET' } });

  const app = new Koa({ proxy: options.proxy ?? false });
  // Everything is caught by errorHandler; this only sees failures while writing a response.
  app.on('error', (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'response error'));

  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const router = createMcpRouter(engine, {
    track,
    publicUrl: options.publicUrl,
    authenticate,
    logger,
    metrics,
    ...(options.successUrl ? { successUrl: options.successUrl } : {}),
    ...(options.errorUrl ? { errorUrl: options.errorUrl } : {}),
    ...(options.history ? { history: options.history } : {}),
    ...(options.verifyConnections === false ? { verifyConnections: false } : {}),
  });
  const landing = options.homeUrl ? { homeUrl: options.homeUrl } : {};

  app.use(requestContext(logger, metrics));
  app.use(errorHandler(logger));
  app.use(router.routes());
  app.use(createGrantRouter(engine, { authenticate }).routes());
  if (options.servers) app.use(createServerRouter(engine, options.servers, { authenticate }).routes());
  app.use(async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (FIXED_PATHS.has(ctx.path)) ctx.state.route = ctx.path;
    switch (ctx.path) {
      case '/oauth/success':
        return successPage(ctx, landing);
      case '/oauth/error':
        return errorPage(ctx, landing);
      case '/metrics':
        ctx.set('Cache-Control', 'no-store');
        ctx.type = metrics.registry.contentType;
        ctx.body = await metrics.registry.metrics();
        return;
      case '/healthz':
        ctx.set('Cache-Control', 'no-store');
        try {
          await engine.deps.store.headPosition();
          ctx.body = { status: 'ok' };
        } catch {
          ctx.status = 503;
          ctx.body = { status: 'unavailable' };
        }
        return;
      default:
        return next();
    }
  });
  for (const m of options.mount ?? []) app.use(m);
  app.use(notFound);
  return Object.assign(app, {
    async drain(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  });
}

const FIXED_PATHS = new Set(['/oauth/success', '/oauth/error', '/metrics', '/healthz']);

/** Last in line: 405 when the path exists with another method, else 404. */
const notFound: Middleware = (ctx) => {
  const matched = (ctx as { matched?: unknown[] }).matched;
  if (Array.isArray(matched) && matched.length > 0) {
    throw new EngineError('method_not_allowed', `${ctx.method} is not allowed here`);
  }
  throw new EngineError(ErrorCode.NOT_FOUND, 'No such route');
};
