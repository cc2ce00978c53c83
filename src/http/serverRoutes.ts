import { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import { koaBody } from 'koa-body';
import { z } from 'zod';
import type { Engine } from '../engine.js';
import { EngineError, ErrorCode } from '../errors.js';
import { describeIssue } from '../issueMessage.js';
import { parseCreateBody, parsePatchBody, type ServerRegistry } from '../registry/index.js';
import { principal, requireUser, type Authenticate } from './authenticate.js';
import { MCP_PREFIX } from './mcpRouter.js';
import { serverNameParam, single } from './params.js';

export interface ServerRouterOptions {
  authenticate: Authenticate;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** A server configuration is small; 64 KiB leaves room for 32 headers and OAuth options. */
const jsonBody = koaBody({ json: true, jsonLimit: '64kb', jsonStrict: true, urlencoded: false, text: false, multipart: false });

/** JSON only: a form or text body is refused outright rather than read as an empty config. */
async function requireJson(ctx: Context, next: Next): Promise<void> {
  if (!ctx.is('application/json')) throw new EngineError('unsupported_media_type', 'Send the body as application/json');
  await next();
}

/** The opaque `after` cursor: the last server name of the previous page, base64url-wrapped. */
const encodeCursor = (serverName: string): string => Buffer.from(JSON.stringify({ n: serverName })).toString('base64url');

function decodeCursor(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { n?: unknown };
    if (typeof parsed.n === 'string' && parsed.n.length > 0 && parsed.n.length <= 128) return parsed.n;
  } catch {
    // falls through to the refusal
  }
  throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'Invalid "after" cursor');
}

function limitOf(raw: unknown): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const text = single(raw, 6);
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new EngineError(ErrorCode.INVALID_ARGUMENT, `"limit" must be an integer from 1 to ${MAX_LIMIT}`);
  return Math.min(n, MAX_LIMIT);
}

const UserIdSchema = z.string().min(1).max(256).refine((s) => !/[\p{Cc}\p{Cf}]/u.test(s), 'control characters are not allowed');
const ShareBodySchema = z.strictObject({ userId: UserIdSchema, level: z.enum(['view', 'edit']) });

/**
 * The registry routes under `/api/mcp`, with the reference application's bodies:
 *
 * - `GET /servers?limit&after&search` → `{ servers: [...], nextCursor? }` (configured servers
 *   for everyone, user-managed ones the caller owns, was given, or, as admin, any);
 * - `POST /servers` `{ config }` → 201 `{ serverName, ...config }`, secrets redacted;
 * - `GET|PATCH|DELETE /servers/:serverName` (PATCH takes `{ config }`);
 * - `POST /servers/:serverName/share` `{ userId, level }`, `DELETE /servers/:serverName/share/:userId`;
 * - `GET /:serverName/auth-values` → booleans only.
 *
 * Every route needs a principal; servers the caller may not see answer 404 like missing ones.
 */
export function createServerRouter(engine: Engine, registry: ServerRegistry, options: ServerRouterOptions): Router {
  const router = new Router({ prefix: MCP_PREFIX });
  const auth = requireUser(options.authenticate);
  const cmd = (ctx: Context) => ({ actor: principal(ctx), correlationId: ctx.state.requestId as string, engine });
  const noStore = (ctx: Context) => ctx.set('Cache-Control', 'no-store');

  router.get('/servers', auth, async (ctx) => {
    const q = ctx.query;
    const search = q.search === undefined ? undefined : single(q.search, 200);
    if (q.search !== undefined && search === undefined) throw new EngineError(ErrorCode.INVALID_ARGUMENT, '"search" is at most 200 characters, given once');
    const after = decodeCursor(q.after === undefined ? undefined : (single(q.after, 400) ?? ''));
    const page = await registry.list(principal(ctx), {
      limit: limitOf(q.limit),
      ...(after !== undefined ? { after } : {}),
      ...(search ? { search: search.trim() } : {}),
    });
    noStore(ctx);
    ctx.body = { servers: page.servers, ...(page.nextCursor !== undefined ? { nextCursor: encodeCursor(page.nextCursor) } : {}) };
  });

  router.post('/servers', auth, requireJson, jsonBody, async (ctx) => {
    const input = parseCreateBody(ctx.request.body);
    const view = await registry.create(cmd(ctx), input);
    noStore(ctx);
    ctx.status = 201;
    ctx.body = view;
  });

  router.get('/servers/:serverName', auth, async (ctx) => {
    const view = await registry.get(principal(ctx), serverNameParam(ctx.params.serverName));
    noStore(ctx);
    ctx.body = view;
  });

  router.patch('/servers/:serverName', auth, requireJson, jsonBody, async (ctx) => {
    const serverName = serverNameParam(ctx.params.serverName);
    const patch = parsePatchBody(ctx.request.body);
    const view = await registry.update(cmd(ctx), serverName, patch);
    noStore(ctx);
    ctx.body = view;
  });

  router.delete('/servers/:serverName', auth, async (ctx) => {
    const result = await registry.remove(cmd(ctx), serverNameParam(ctx.params.serverName));
    noStore(ctx);
    ctx.body = { success: true, serverName: result.serverName, revokedGrants: result.revokedGrants, message: `MCP server ${result.serverName} removed` };
  });

  router.post('/servers/:serverName/share', auth, requireJson, jsonBody, async (ctx) => {
    const serverName = serverNameParam(ctx.params.serverName);
    const parsed = ShareBodySchema.safeParse(ctx.request.body);
    if (!parsed.success) throw new EngineError(ErrorCode.INVALID_ARGUMENT, describeIssue(parsed.error.issues[0]!));
    const view = await registry.share(cmd(ctx), serverName, parsed.data.userId, parsed.data.level);
    noStore(ctx);
    ctx.body = view;
  });

  router.delete('/servers/:serverName/share/:userId', auth, async (ctx) => {
    const serverName = serverNameParam(ctx.params.serverName);
    const userId = UserIdSchema.safeParse(ctx.params.userId);
    if (!userId.success) throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'Invalid user id');
    const view = await registry.unshare(cmd(ctx), serverName, userId.data);
    noStore(ctx);
    ctx.body = view;
  });

  router.get('/:serverName/auth-values', auth, async (ctx) => {
    const values = await registry.authValues(principal(ctx), serverNameParam(ctx.params.serverName));
    noStore(ctx);
    ctx.body = { success: true, ...values };
  });

  return router;
}
