import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { isAllowedHost, isBlockedAddress, isLoopbackAddress } from './addressPolicy.js';

/** The `fetch` shape the SDK's `client/auth` functions accept (`FetchLike`). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface GuardedFetchOptions {
  /**
   * `ALLOWED_DOMAINS`: hosts exempt from the private-address block (exact host or `*.suffix`,
   * optional `:port`). Plain http is accepted only for such hosts, and only when they are
   * loopback.
   */
  allowedDomains?: readonly string[];
  /** Whole-request deadline, redirects and body included. Default 10 000 ms. */
  timeoutMs?: number;
  /** Cap on the (decoded) response body. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Headers sent on every request; per-request headers win on conflicts. */
  headers?: Record<string, string>;
  /** Redirect hops followed when the caller asks for `redirect: 'follow'`. Default 5. */
  maxRedirects?: number;
  /**
   * Hand the body on as a stream (MCP's Streamable HTTP and SSE transports): the deadline then
   * covers the wait for response headers only, the byte cap is enforced while the body flows,
   * and the caller's abort signal ends the stream. Content coding is refused (`identity`).
   */
  stream?: boolean;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Creates the one `fetch` the engine uses for every outbound request (protected-resource and
 * authorization-server metadata, registration, token, revocation), hardened against SSRF:
 *
 * - https only; plain http only for loopback hosts listed in `allowedDomains` (dev setups);
 * - after DNS resolution, private, loopback, link-local, CGNAT, ULA, unspecified, multicast and
 *   cloud-metadata addresses (IPv4, IPv6 and IPv4-mapped IPv6) are refused unless the host is
 *   allowed. The check runs inside the socket's `lookup`, so the connection goes to exactly the
 *   address that was checked (no DNS-rebinding window between check and connect);
 * - redirects are followed by hand (at most `maxRedirects`) and every hop is checked again;
 *   with `redirect: 'manual'` (what the SDK passes) the 3xx is returned and the caller's next
 *   request is checked when it is made;
 * - one deadline for the whole call → `UPSTREAM_TIMEOUT`; the body is read while counting and
 *   the socket is destroyed past the cap → `RESPONSE_TOO_LARGE`.
 *
 * The body is buffered before the `Response` is returned, so this fetch suits request/response
 * exchanges (everything OAuth does), not long-lived event streams.
 *
 * Errors: `EngineError` `SSRF_BLOCKED` / `INSECURE_URL` (host quoted), `UPSTREAM_TIMEOUT`,
 * `RESPONSE_TOO_LARGE`; other network failures are `TypeError('fetch failed')` like `fetch`.
 *
 * @see https://modelcontextprotocol.io/docs/tutorials/security/security_best_practices
 */
export function createGuardedFetch(options: GuardedFetchOptions = {}): FetchLike {
  // Keep-alive pools, one per fetch instance. Sockets are still only ever created through
  // the checking `lookup`, and a pool hands a socket back only for the same host:port it was
  // checked for, so reuse keeps the pinning while saving a TCP (and TLS) handshake per request.
  const agents: Agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 64, timeout: 30_000 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 64, timeout: 30_000 }),
  };
  const allowed = options.allowedDomains ?? [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  const maxRedirects = options.maxRedirects ?? 5;
  const baseHeaders = options.headers ?? {};
  const streaming = options.stream ?? false;

  return async function guardedFetch(input, init) {
    const request = new Request(input, init);
    const redirectMode = init?.redirect ?? request.redirect;
    const headers = new Headers(baseHeaders);
    request.headers.forEach((value, key) => headers.set(key, value));
    let method = request.method;
    let body: Buffer | undefined =
      request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    let url = new URL(request.url);

    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new EngineError(ErrorCode.UPSTREAM_TIMEOUT, `request to ${quote(url.host)} timed out after ${timeoutMs} ms`, {
            // The path only: a query string may carry values that are not ours to log.
            details: { host: url.host, path: url.pathname, method, timeoutMs },
          }),
        ),
      timeoutMs,
    );
    const callerSignal = init?.signal ?? undefined;
    const onCallerAbort = (): void => deadline.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onCallerAbort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

    try {
      for (let hop = 0; ; hop++) {
        const response = await requestOnce(url, method, headers, body, deadline.signal, allowed, maxBytes, agents, streaming ? callerSignal : null);
        if (!REDIRECT_STATUSES.has(response.status) || redirectMode === 'manual') return response;
        const location = response.headers.get('location');
        if (location === null) return response;
        if (redirectMode === 'error') throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
        if (hop >= maxRedirects) {
          // A long redirect chain is a classic way to walk a guard; refuse rather than follow.
          throw new EngineError(ErrorCode.SSRF_BLOCKED, `too many redirects from ${quote(url.host)}`, {
            details: { host: url.host, maxRedirects },
          });
        }
        const next = new URL(location, url);
        // RFC 9110 §15.4: 303 (and 301/302 after POST, as browsers do) turn into a body-less GET.
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          headers.delete('content-type');
          headers.delete('content-length');
        }
        // Credentials meant for one origin must not be replayed to another.
        if (next.origin !== url.origin) {
          headers.delete('authorization');
          headers.delete('cookie');
        }
        url = next;
      }
    } catch (err) {
      throw deadline.signal.aborted && deadline.signal.reason !== undefined ? deadline.signal.reason : err;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  };
}

/** Refuses a URL before any socket is opened (scheme, literal addresses). */
function checkUrl(url: URL, allowed: readonly string[]): { isAllowed: boolean } {
  const host = url.hostname;
  const isAllowed = isAllowedHost(url, allowed);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EngineError(ErrorCode.INSECURE_URL, `scheme ${quote(url.protocol)} refused for ${quote(host)}`, {
      details: { host, protocol: url.protocol },
    });
  }
  if (url.protocol === 'http:' && !isAllowed) {
    throw new EngineError(ErrorCode.INSECURE_URL, `plain http refused for ${quote(host)} (not in allowed domains)`, {
      details: { host },
    });
  }
  const literal = host.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0) {
    if (url.protocol === 'http:' && !isLoopbackAddress(literal)) {
      throw new EngineError(ErrorCode.INSECURE_URL, `plain http refused for non-loopback ${quote(host)}`, {
        details: { host },
      });
    }
    if (!isAllowed && isBlockedAddress(literal)) {
      throw new EngineError(ErrorCode.SSRF_BLOCKED, `address of ${quote(host)} is not publicly routable`, {
        details: { host },
      });
    }
  }
  return { isAllowed };
}

interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request` that resolves, checks every answer, and hands the socket only
 * checked addresses: the connection is pinned to what was judged.
 */
function guardedLookup(url: URL, isAllowed: boolean) {
  return (hostname: string, opts: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, family: opts.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        for (const { address } of addresses) {
          if (url.protocol === 'http:' && !isLoopbackAddress(address)) {
            throw new EngineError(ErrorCode.INSECURE_URL, `plain http refused for ${quote(url.hostname)}: it is not loopback`, {
              details: { host: url.hostname },
            });
          }
          // Any blocked answer refuses the host: a mixed answer is how rebinding attacks start.
          if (!isAllowed && isBlockedAddress(address)) {
            throw new EngineError(ErrorCode.SSRF_BLOCKED, `${quote(url.hostname)} resolves to a non-public address`, {
              details: { host: url.hostname },
            });
          }
        }
      } catch (e) {
        return callback(e as Error, []);
      }
      if (opts.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), []);
      callback(null, first.address, first.family);
    });
  };
}

function requestOnce(
  url: URL,
  method: string,
  headers: Headers,
  body: Buffer | undefined,
  signal: AbortSignal,
  allowed: readonly string[],
  maxBytes: number,
  agents: Agents,
  /** Non-null in stream mode: the caller's signal, which ends the body stream. */
  streamSignal: AbortSignal | null | undefined,
): Promise<Response> {
  const { isAllowed } = checkUrl(url, allowed);
  return new Promise<Response>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const outHeaders: Record<string, string> = {};
    headers.forEach((value, key) => (outHeaders[key] = value));
    if (streamSignal !== null) outHeaders['accept-encoding'] = 'identity';
    else outHeaders['accept-encoding'] ??= 'gzip, deflate, br';
    if (body !== undefined) outHeaders['content-length'] = String(body.length);
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const req = send(url, { method, headers: outHeaders, agent: https ? agents.https : agents.http, lookup: guardedLookup(url, isAllowed) as never });
    const onAbort = (): void => {
      req.destroy(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (err: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      if (err instanceof EngineError) reject(err);
      else if (signal.aborted) reject(signal.reason);
      else reject(new TypeError('fetch failed', { cause: err }));
    };
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      // Only event streams are handed on live: any other body is read (capped) at once, so an
      // answer the caller never reads (a 202, a 405) cannot pin a pooled socket open.
      if (streamSignal !== null && /^text\/event-stream\b/i.test(String(res.headers['content-type'] ?? ''))) {
        signal.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 502;
        const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
        const response = new Response(nullBody ? (res.resume(), null) : cappedStream(res, maxBytes, url, streamSignal), {
          status,
          statusText: res.statusMessage ?? '',
          headers: headersOf(res.rawHeaders, false),
        });
        Object.defineProperty(response, 'url', { value: url.href });
        return resolve(response);
      }
      readCapped(res, method, maxBytes, url).then((buf) => {
        signal.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 502;
        const responseHeaders = headersOf(res.rawHeaders, buf.decoded);
        const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
        const response = new Response(nullBody ? null : buf.bytes, {
          status,
          statusText: res.statusMessage ?? '',
          headers: responseHeaders,
        });
        Object.defineProperty(response, 'url', { value: url.href });
        resolve(response);
      }, (err: unknown) => {
        req.destroy();
        fail(err);
      });
    });
    req.end(body);
  });
}

function headersOf(raw: string[], decoded: boolean): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // A body handed on decoded no longer matches its coding and length headers.
    if (decoded && (name === 'content-encoding' || name === 'content-length')) continue;
    headers.append(raw[i]!, raw[i + 1]!);
  }
  return headers;
}

/** The response body as a web stream that errors past the byte cap and ends on abort. */
function cappedStream(res: IncomingMessage, maxBytes: number, url: URL, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  let total = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const onAbort = (): void => {
        res.destroy();
        try {
          controller.error(signal?.reason ?? new Error('aborted'));
        } catch { /* already closed */ }
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          res.destroy();
          controller.error(new EngineError(ErrorCode.RESPONSE_TOO_LARGE, `response from ${quote(url.host)} exceeds ${maxBytes} bytes`, { details: { host: url.host, maxBytes } }));
          return;
        }
        controller.enqueue(new Uint8Array(chunk));
      });
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        try { controller.close(); } catch { /* errored */ }
      });
      res.on('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        try { controller.error(e); } catch { /* closed */ }
      });
    },
    cancel() {
      res.destroy();
    },
  });
}

async function readCapped(
  res: IncomingMessage,
  method: string,
  maxBytes: number,
  url: URL,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; decoded: boolean }> {
  const tooLarge = (): EngineError =>
    new EngineError(ErrorCode.RESPONSE_TOO_LARGE, `response from ${quote(url.host)} exceeds ${maxBytes} bytes`, {
      details: { host: url.host, maxBytes },
    });
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes && method !== 'HEAD') {
    res.destroy();
    throw tooLarge();
  }
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  let stream: Readable = res;
  let decoded = false;
  // Decode before counting, so a small compressed bomb cannot get past the cap.
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip());
  else if (encoding === 'deflate') stream = res.pipe(createInflate());
  else if (encoding === 'br') stream = res.pipe(createBrotliDecompress());
  if (stream !== res) {
    decoded = true;
    res.on('error', (e) => stream.destroy(e));
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      stream.destroy();
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks)) as Uint8Array<ArrayBuffer>, decoded };
}
