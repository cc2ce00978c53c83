import { Router } from '@koa/router';
import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import type { Engine } from '../engine.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import type { Logger } from '../flow/deps.js';
import { principal, requireUser, type Authenticate } from './authenticate.js';
import { clearBindingCookie, readBindingCookie, setBindingCookie, type BindingCookiePolicy } from './bindingCookie.js';
import { knownErrorCode } from './landingPages.js';
import type { EngineMetrics } from './metrics.js';
import { isFlowId, serverNameParam, single } from './params.js';

/** The audit timeline of one flow (`src/audit/history.ts` `getFlowHistory`), or null when unknown. */
export type HistoryProvider = (flowId: string) => Promise<unknown>;

export interface McpRouterOptions {
  /** `PUBLIC_URL`: base of the landing pages, and https here means Secure cookies. */
  publicUrl: string;
  authenticate: Authenticate;
  logger: Logger;
  metrics?: EngineMetrics;
  /** The host's own landing pages; default `<publicUrl>/oauth/success` and `/oauth/error`. */
  successUrl?: string;
  errorUrl?: string;
  /** Answers `GET /flows/:flowId/history`; without it that route answers 404 `not_found`. */
  history?: HistoryProvider;
  now?: () => number;
  /** After a completed callback, connect to the MCP server with the new grant (default true). */
  verifyConnections?: boolean;
  /** Receives work that outlives its request (connection verification), so shutdown can wait for it. */
  track?: (work: Promise<unknown>) => void;
}

/** Prefix of every route here; the redirect URIs the engine registers point under it. */
export const MCP_PREFIX = '/api/mcp';

/** Bodies are not needed by any route; small limits make oversized ones a cheap 413. */
const body = koaBody({ jsonLimit: '16kb', formLimit: '16kb', textLimit: '16kb', multipart: false });

/**
 * The `/api/mcp` routes of architecture §6, as a router a host Koa app can mount
 * (`app.use(router.routes())`). API routes need a principal from `authenticate`; the callback
 * does not (it is the authorization server's redirect) and is guarded by the browser binding
 * instead. Errors are thrown as `EngineError`s for the app's error handler, except on the
 * callback, which always answers with a redirect to a landing page.
 */
export function createMcpRouter(engine: Engine, options: McpRouterOptions): Router {
  const router = new Router({ prefix: MCP_PREFIX });
  const cookie: BindingCookiePolicy = { secure: new URL(options.publicUrl).protocol === 'https:' };
  const successUrl = options.successUrl ?? `${options.publicUrl}/oauth/success`;
  const errorUrl = options.errorUrl ?? `${options.publicUrl}/oauth/error`;
  const now = options.now ?? Date.now;
  const auth = requireUser(options.authenticate);
  const correlationId = (ctx: Context): string => ctx.state.requestId as string;

  async function knownServer(ctx: Context, userId: string): Promise<string> {
    const serverName = serverNameParam(ctx.params.serverName);
    if (!(await engine.hasServer(serverName, userId))) throw new EngineError(ErrorCode.UNKNOWN_SERVER, `Unknown MCP server ${quote(serverName, 80)}`);
    return serverName;
  }

  router.post('/:serverName/reinitialize', auth, body, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const outcome = await engine.reinitialize({ userId, serverName, correlationId: correlationId(ctx) });
    if (outcome.connected) {
      ctx.body = { success: true, serverName, oauthRequired: false, message: `Server ${serverName} is connected` };
      return;
    }
    const started = outcome.flow;
    setBindingCookie(ctx, serverName, started.bindingSecret, started.expiresAt, now(), cookie);
    ctx.body = {
      success: true,
      serverName,
      oauthRequired: true,
      oauthUrl: safeRedirectTarget(started.authorizationUrl),
      flowId: started.flowId,
      message: started.joined ? 'OAuth authorization already in progress' : 'OAuth authorization required',
    };
  });

  router.get('/:serverName/oauth/initiate', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const started = await engine.startFlow({ userId, serverName, correlationId: correlationId(ctx) });
    setBindingCookie(ctx, serverName, started.bindingSecret, started.expiresAt, now(), cookie);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(safeRedirectTarget(started.authorizationUrl));
  });

  router.post('/:serverName/oauth/bind', auth, body, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const bound = await engine.bindBrowser({ userId, serverName, correlationId: correlationId(ctx) });
    const flow = bound && (await engine.getFlowStatus(bound.flowId, userId));
    if (!bound || !flow) throw new EngineError(ErrorCode.NOT_FOUND, `No pending OAuth flow for ${quote(serverName, 80)}`);
    setBindingCookie(ctx, serverName, bound.bindingSecret, flow.expiresAt, now(), cookie);
    ctx.body = { success: true, flowId: bound.flowId };
  });

  router.get('/:serverName/oauth/callback', async (ctx) => {
    const stopTimer = options.metrics?.startCallbackTimer();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    let serverName: string;
    try {
      serverName = serverNameParam(ctx.params.serverName);
    } catch {
      stopTimer?.('invalid_state');
      ctx.redirect(`${errorUrl}?error=invalid_state`);
      return;
    }
    const q = ctx.query;
    let outcome: Awaited<ReturnType<Engine['handleCallback']>>;
    try {
      outcome = await engine.handleCallback({
        serverName,
        state: single(q.state, 512),
        code: single(q.code, 4096),
        error: single(q.error, 256),
        errorDescription: single(q.error_description, 1024),
        iss: single(q.iss, 2048),
        bindingSecret: readBindingCookie(ctx, serverName, cookie),
        correlationId: correlationId(ctx),
      });
    } catch (err) {
      // The browser is mid-redirect: it gets a page, the operator gets the log line.
      options.logger.error({ err: err instanceof Error ? err.message : String(err), requestId: ctx.state.requestId }, 'callback handling failed');
      outcome = { ok: false, error: ErrorCode.CALLBACK_FAILED };
    }
    if (outcome.ok) {
      if (!outcome.alreadyCompleted && options.verifyConnections !== false) {
        // Proves the MCP server accepts the new grant (recorded as events); never delays or breaks the redirect.
        const work = engine.verifyConnection(outcome.userId, outcome.serverName, correlationId(ctx)).catch((err: unknown) =>
          options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'connection verification failed'));
        options.track?.(work);
      }
      clearBindingCookie(ctx, outcome.serverName, cookie);
      stopTimer?.(outcome.alreadyCompleted ? 'already_completed' : 'completed');
      ctx.redirect(`${successUrl}?serverName=${encodeURIComponent(outcome.serverName)}`);
      return;
    }
    const code = knownErrorCode(outcome.error) === 'unknown_error' ? ErrorCode.CALLBACK_FAILED : outcome.error;
    // The cookie goes once its attempt is over; a forged or foreign callback (bad state, no
    // binding) leaves the legitimate attempt's cookie alone.
    if (outcome.flowId && !UNBOUND.has(code)) {
      const flow = await engine.getFlowStatus(outcome.flowId).catch(() => null);
      if (flow && flow.status !== 'PENDING') clearBindingCookie(ctx, serverName, cookie);
    }
    stopTimer?.(code);
    ctx.redirect(`${errorUrl}?error=${encodeURIComponent(code)}`);
  });

  router.get('/oauth/status/:flowId', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const flowId = ctx.params.flowId;
    const view = isFlowId(flowId) ? await engine.getFlowStatus(flowId, userId) : null;
    if (!view) throw new EngineError(ErrorCode.NOT_FOUND, 'Flow not found');
    ctx.body = {
      flowId: view.flowId,
      serverName: view.serverName,
      status: view.status,
      completed: view.status === 'COMPLETED',
      failed: view.status === 'FAILED',
      ...(view.error ? { error: view.error } : {}),
      expiresAt: view.expiresAt,
    };
  });

  router.post('/oauth/cancel/:serverName', auth, body, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const result = await engine.cancelFlow({ userId, serverName, correlationId: correlationId(ctx) });
    if (result.success) clearBindingCookie(ctx, serverName, cookie);
    ctx.body = { success: result.success, message: result.message, ...(result.flowId ? { flowId: result.flowId } : {}) };
  });

  router.get('/connection/status', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const names = await engine.listServers(userId);
    const views = await Promise.all(names.map(async (name) => [name, await engine.getConnectionStatus(userId, name)] as const));
    ctx.body = { success: true, connectionStatus: Object.fromEntries(views) };
  });

  router.get('/connection/status/:serverName', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const view = await engine.getConnectionStatus(userId, serverName);
    // `connectionStatus` is the reference application's field name, `connectionState` ours.
    ctx.body = { success: true, serverName, connectionStatus: view.connectionState, ...view };
  });

  router.get('/flows/:flowId/history', auth, async (ctx) => {
    const who = principal(ctx);
    const flowId = ctx.params.flowId;
    const view = isFlowId(flowId) ? await engine.getFlowStatus(flowId) : null;
    // Someone else's flow looks exactly like a missing one: no existence oracle.
    if (!view || (view.userId !== who.userId && who.role !== 'admin')) throw new EngineError(ErrorCode.NOT_FOUND, 'Flow not found');
    if (!options.history) throw new EngineError(ErrorCode.NOT_FOUND, 'Flow history is not available in this deployment');
    const history = await options.history(view.flowId);
    if (history === null || history === undefined) throw new EngineError(ErrorCode.NOT_FOUND, 'Flow not found');
    ctx.body = history;
  });

  return router;
}

/** Callback failures that prove nothing about the browser: they must not touch its cookie. */
const UNBOUND = new Set<string>([ErrorCode.MISSING_STATE, ErrorCode.INVALID_STATE, ErrorCode.CSRF_VALIDATION_FAILED]);

/**
 * The authorization URL comes from the authorization server's metadata; before a browser is
 * sent there, it must at least be an absolute http(s) URL (no `javascript:`, no relative
 * path that would turn this app into an open redirector).
 */
function safeRedirectTarget(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EngineError(ErrorCode.DISCOVERY_FAILED, 'The authorization URL is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new EngineError(ErrorCode.INSECURE_URL, 'The authorization URL is not http(s)');
  return parsed.href;
}
