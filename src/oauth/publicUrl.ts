import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { isAllowedHost, isBlockedAddress, isLoopbackAddress } from './addressPolicy.js';

/** Resolves a host name to every address it has (the shape of `dns.promises.lookup(…, { all: true })`). */
export type ResolveHost = (hostname: string) => Promise<Array<{ address: string }>>;

const systemResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Why {@link checkPublicUrl} refused a URL. */
export type UrlRefusal = 'not_a_url' | 'insecure_url' | 'ssrf_blocked' | 'unresolvable';

/**
 * Judges a URL the engine will later contact (an MCP endpoint, a token endpoint) by the same
 * rules as the guarded fetch, ahead of time: https only, plain http only for loopback hosts in
 * `ALLOWED_DOMAINS`; private, loopback, link-local and metadata addresses refused, both as
 * literals and after DNS resolution (every answer must be public), unless the host is allowed.
 *
 * This is a registration-time check, so people get a clear 4xx instead of a failure at first
 * use. It does not replace the guarded fetch's connect-time check: DNS may change afterwards
 * (rebinding), which only the pinned lookup in `guardedFetch.ts` defeats.
 *
 * Throws `EngineError` `ssrf_blocked` / `insecure_url` with `details.reason` a {@link UrlRefusal}.
 */
export async function checkPublicUrl(raw: string, allowedDomains: readonly string[], resolve: ResolveHost = systemResolve): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refusal(ErrorCode.INSECURE_URL, 'not_a_url', 'is not an absolute URL', raw);
  }
  const host = url.hostname;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refusal(ErrorCode.INSECURE_URL, 'insecure_url', `scheme ${quote(url.protocol)} is not https`, host);
  if (url.username || url.password) throw refusal(ErrorCode.INSECURE_URL, 'insecure_url', 'must not carry credentials', host);
  const allowed = isAllowedHost(url, allowedDomains);
  if (url.protocol === 'http:' && !allowed) throw refusal(ErrorCode.INSECURE_URL, 'insecure_url', 'plain http is only accepted for loopback hosts in ALLOWED_DOMAINS', host);

  const literal = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(literal) !== 0) {
    addresses = [literal];
  } else {
    try {
      addresses = (await resolve(literal)).map((a) => a.address);
    } catch {
      throw refusal(ErrorCode.SSRF_BLOCKED, 'unresolvable', 'does not resolve', host);
    }
    if (addresses.length === 0) throw refusal(ErrorCode.SSRF_BLOCKED, 'unresolvable', 'does not resolve', host);
  }
  for (const address of addresses) {
    if (url.protocol === 'http:' && !isLoopbackAddress(address)) throw refusal(ErrorCode.INSECURE_URL, 'insecure_url', 'plain http is only accepted for loopback addresses', host);
    // Any blocked answer refuses the host, as the guarded fetch does.
    if (!allowed && isBlockedAddress(address)) throw refusal(ErrorCode.SSRF_BLOCKED, 'ssrf_blocked', 'resolves to a non-public address', host);
  }
  return url;
}

function refusal(code: string, reason: UrlRefusal, message: string, host: string): EngineError {
  return new EngineError(code, `${quote(host, 100)} ${message}`, { details: { reason, host: host.slice(0, 255) } });
}
