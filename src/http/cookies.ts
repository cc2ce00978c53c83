/**
 * Just enough of RFC 6265 for the binding cookie. Written by hand instead of through
 * `ctx.cookies` because the `cookies` package refuses `Secure` cookies when the TLS ends at a
 * proxy in front of us, while `PUBLIC_URL` (https) is what decides here.
 */

export interface CookieAttributes {
  maxAgeSeconds: number;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: 'Lax' | 'Strict';
}

const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** `Set-Cookie` header value. Names and values are our own; they are checked anyway. */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  if (!NAME.test(name) || !VALUE.test(value)) throw new TypeError('cookie name or value not allowed');
  const parts = [`${name}=${value}`, `Path=${a.path}`, `Max-Age=${Math.max(0, Math.floor(a.maxAgeSeconds))}`, `SameSite=${a.sameSite}`];
  if (a.maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (a.secure) parts.push('Secure');
  if (a.httpOnly) parts.push('HttpOnly');
  return parts.join('; ');
}

/**
 * The value of one cookie in a `Cookie` header, or undefined. The first occurrence wins (RFC
 * 6265 §5.4 puts the longest path first). Oversized headers are not parsed at all.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 16_384) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim();
      return VALUE.test(value) ? value : undefined;
    }
  }
  return undefined;
}
