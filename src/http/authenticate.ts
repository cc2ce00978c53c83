import type { Context, Next } from 'koa';
import { EngineError, ErrorCode } from '../errors.js';
import { verifyHs256Jwt } from './jwt.js';

/** Who is calling an API route. `role: 'admin'` opens admin routes (history of any flow, dashboard). */
export interface Principal {
  userId: string;
  role?: 'admin';
}

/**
 * Decides who made a request, or null for "nobody". A host application replaces the default
 * JWT authenticator with its own (session cookie, its own JWT library…) through
 * `options.authenticate`; routes only ever see a {@link Principal}.
 */
export type Authenticate = (ctx: Context) => Promise<Principal | null> | Principal | null;

/** `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive). */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return m?.[1];
}

/** Maps verified JWT claims to a principal: `sub` is the user id, `role: "admin"` is kept. */
export function principalOf(claims: { sub: string; role?: unknown }): Principal {
  return claims.role === 'admin' ? { userId: claims.sub, role: 'admin' } : { userId: claims.sub };
}

/**
 * The default authenticator (architecture §6): a bearer JWT signed HS256 with `JWT_SECRET`,
 * `sub` = user id, optional `role: "admin"`, `exp` required, `nbf` honoured.
 */
export function jwtAuthenticator(secret: string, now: () => number = Date.now): Authenticate {
  return (ctx) => {
    const token = bearerToken(ctx);
    if (!token) return null;
    const verdict = verifyHs256Jwt(token, secret, now());
    return verdict.ok ? principalOf(verdict.claims) : null;
  };
}

/** Reads the principal set by {@link requireUser}. */
export function principal(ctx: Context): Principal {
  const p = ctx.state.principal as Principal | undefined;
  if (!p) throw new EngineError(ErrorCode.UNAUTHENTICATED, 'Authentication required');
  return p;
}

/** Middleware: 401 `unauthenticated` unless the authenticator names a user. */
export function requireUser(authenticate: Authenticate) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const p = await authenticate(ctx);
    if (!p || typeof p.userId !== 'string' || p.userId.length === 0) {
      ctx.set('WWW-Authenticate', 'Bearer realm="flow-engine"');
      throw new EngineError(ErrorCode.UNAUTHENTICATED, 'Authentication required');
    }
    ctx.state.principal = p;
    await next();
  };
}

/**
 * Middleware for operators' routes (the dashboard): 401 without a principal, 403 for a
 * principal without `role: "admin"`.
 */
export function requireAdmin(authenticate: Authenticate) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const p = await authenticate(ctx);
    if (!p) {
      ctx.set('WWW-Authenticate', 'Bearer realm="flow-engine"');
      throw new EngineError(ErrorCode.UNAUTHENTICATED, 'Authentication required');
    }
    if (p.role !== 'admin') throw new EngineError(ErrorCode.FORBIDDEN, 'Operators only');
    ctx.state.principal = p;
    await next();
  };
}
