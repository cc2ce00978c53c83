import { createHmac, timingSafeEqual } from 'node:crypto';

/** Claims the default authenticator reads; anything else in the token is ignored. */
export interface JwtClaims {
  sub: string;
  role?: string;
  exp: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

export type JwtVerdict = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

const B64URL = /^[A-Za-z0-9_-]*$/;
/** Tokens past this size are refused before any decoding (headers are capped anyway). */
const MAX_TOKEN_LENGTH = 8192;
/** Tolerated clock difference between the token issuer and us, in seconds. */
const LEEWAY_SECONDS = 30;

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Verifies a compact JWS signed with HS256 (RFC 7515, RFC 7518 §3.2) and its time claims
 * (RFC 7519 §4.1.4-5). The algorithm is fixed: a token whose header says anything but
 * `HS256` (`none`, `RS256`, …) is refused before its signature is looked at, which closes the
 * classic algorithm-confusion attacks. `exp` is required: a token that never expires is a
 * standing credential, and hosts with such tokens can plug in their own authenticator.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8725 (JWT best current practice)
 */
export function verifyHs256Jwt(token: string, secret: string, nowMs: number = Date.now()): JwtVerdict {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token too long' };
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { ok: false, reason: 'not a compact JWS' };
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h);
  if (!header || header.alg !== 'HS256') return { ok: false, reason: 'algorithm must be HS256' };
  if (header.crit !== undefined) return { ok: false, reason: 'critical header parameters are not supported' };
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const claims = decodeJson(p);
  if (!claims) return { ok: false, reason: 'payload is not a JSON object' };
  const now = nowMs / 1000;
  if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 256) return { ok: false, reason: 'sub missing' };
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return { ok: false, reason: 'exp missing' };
  if (now > claims.exp + LEEWAY_SECONDS) return { ok: false, reason: 'token expired' };
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now + LEEWAY_SECONDS < claims.nbf)) return { ok: false, reason: 'token not yet valid' };
  return { ok: true, claims: claims as JwtClaims };
}

/** Signs claims as an HS256 JWT. Used for demo-mode tokens, tests and benchmarks. */
export function signHs256Jwt(claims: Record<string, unknown>, secret: string): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
