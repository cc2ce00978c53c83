import { sha256Of } from '../crypto/digest.js';
import type { Context } from 'koa';
import { readCookie, serializeCookie } from './cookies.js';

/** Where the binding cookie lives: every route that sets or reads it is under this path. */
export const BINDING_COOKIE_PATH = '/api/mcp';

export interface BindingCookiePolicy {
  /** True when `PUBLIC_URL` is https: `Secure` and the `__Secure-` name prefix. */
  secure: boolean;
}

/**
 * One cookie per server: `mcp_oauth_binding_<12 hex of SHA-256(server name)>`.
 *
 * Why per server and not one cookie holding a map: a user may have attempts on two servers at
 * once, and each attempt has its own expiry, so each cookie gets its own `Max-Age` and is
 * cleared on its own outcome without a read-modify-write of a shared value (two tabs writing
 * one map cookie would drop each other's entries). Why a hash and not the name: server names
 * of user-managed servers may hold characters a cookie name cannot, and the hash keeps names
 * short and fixed-length. A (harmless) hash collision only means two servers share a cookie:
 * the engine still checks the secret against the attempt's own recorded hashes.
 *
 * The `__Secure-` prefix (RFC 6265bis §4.1.3.1) makes browsers refuse the cookie unless it was
 * set Secure from a secure origin, so a network attacker cannot plant one over plain http.
 */
export function bindingCookieName(serverName: string, policy: BindingCookiePolicy): string {
  let tag = cookieTags.get(serverName);
  if (tag === undefined) {
    tag = sha256Of(serverName, 'hex').slice(0, 12);
    // Server names are few (configured or registered); the bound only guards against junk.
    if (cookieTags.size >= 1024) cookieTags.clear();
    cookieTags.set(serverName, tag);
  }
  return `${policy.secure ? '__Secure-' : ''}mcp_oauth_binding_${tag}`;
}

/** Cookie-name tags by server name: every binding-cookie request derives one. */
const cookieTags = new Map<string, string>();

/** Sets the attempt's binding secret; it lives exactly as long as the attempt can complete. */
export function setBindingCookie(ctx: Context, serverName: string, secret: string, expiresAt: string, nowMs: number, policy: BindingCookiePolicy): void {
  const maxAgeSeconds = Math.max(1, Math.ceil((Date.parse(expiresAt) - nowMs) / 1000));
  ctx.append('Set-Cookie', serializeCookie(bindingCookieName(serverName, policy), secret, {
    maxAgeSeconds,
    path: BINDING_COOKIE_PATH,
    secure: policy.secure,
    httpOnly: true,
    // Lax: sent on the authorization server's top-level redirect back to the callback (a
    // cross-site GET navigation), never on cross-site subresource or POST requests.
    sameSite: 'Lax',
  }));
}

export function readBindingCookie(ctx: Context, serverName: string, policy: BindingCookiePolicy): string | undefined {
  return readCookie(ctx.get('cookie'), bindingCookieName(serverName, policy));
}

export function clearBindingCookie(ctx: Context, serverName: string, policy: BindingCookiePolicy): void {
  ctx.append('Set-Cookie', serializeCookie(bindingCookieName(serverName, policy), '', {
    maxAgeSeconds: 0,
    path: BINDING_COOKIE_PATH,
    secure: policy.secure,
    httpOnly: true,
    sameSite: 'Lax',
  }));
}
