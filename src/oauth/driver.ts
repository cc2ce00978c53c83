import { systemRandom, type Clock, type Random } from '../clock.js';
import { discover } from './discover.js';
import { createGuardedFetch, type FetchLike } from './guardedFetch.js';
import { resolveClient } from './resolveClient.js';
import { exchangeCode, refresh, revoke, startAuthorization } from './tokens.js';
import type { McpServerConfig, OAuthDriver } from './types.js';

export interface OAuthDriverOptions {
  /** `ALLOWED_DOMAINS`: hosts exempt from the private-address block (see `createGuardedFetch`). */
  allowedDomains?: readonly string[];
  clock: Clock;
  /** Reserved for driver-generated values; PKCE verifiers come from the SDK's CSPRNG. */
  random?: Random;
  /** The outbound fetch; defaults to `createGuardedFetch({ allowedDomains })`. Tests may wrap it. */
  fetch?: FetchLike;
}

/**
 * The authorization-server driver: {@link OAuthDriver} over the SDK's `client/auth` functions
 * (never its `auth()` orchestrator) and one SSRF-guarded fetch.
 *
 * A server's configured `headers` go only to that MCP server's own origin (its
 * protected-resource metadata); they often hold the server's API key and must not leak to a
 * third-party authorization server.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
 */
export function createOAuthDriver(options: OAuthDriverOptions): OAuthDriver {
  const allowedDomains = options.allowedDomains ?? [];
  const baseFetch = options.fetch ?? createGuardedFetch({ allowedDomains });
  const clock = options.clock;
  void (options.random ?? systemRandom);
  const deps = { fetch: baseFetch, clock };

  return {
    discover: (input) => discover(input, { fetch: withServerHeaders(baseFetch, input.server), allowedDomains }),
    resolveClient: (input) => resolveClient(input, deps),
    startAuthorization: (input) => startAuthorization(input),
    exchangeCode: (input) => exchangeCode(input, deps),
    refresh: (input) => refresh(input, deps),
    revoke: (input) => revoke(input, deps),
  };
}

/** Adds the server's configured headers to requests for the server's own origin only. */
export function withServerHeaders(fetchFn: FetchLike, server: McpServerConfig): FetchLike {
  const headers = server.headers;
  if (!headers || Object.keys(headers).length === 0) return fetchFn;
  const origin = new URL(server.url).origin;
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (new URL(url).origin !== origin) return fetchFn(input, init);
    const merged = new Headers(headers);
    new Headers(init?.headers).forEach((value, key) => merged.set(key, value));
    return fetchFn(input, { ...init, headers: merged });
  };
}
