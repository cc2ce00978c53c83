/** What the authorization server sent the browser back with (RFC 6749 §4.1.2, RFC 9207). */
export interface CallbackParams {
  code?: string;
  state?: string;
  iss?: string;
  error?: string;
  errorDescription?: string;
  /** The full callback URL (not requested). */
  url: string;
}

export interface BrowserlessOptions {
  /** Where the AS will send the browser back; following stops there. */
  redirectUri: string;
  /** Login name typed into oidc-provider's dev-interaction form. Default `alice`. */
  login?: string;
  /** Safety net against loops. Default 20. */
  maxSteps?: number;
  /** Cookies carried over from a previous run (same "browser"). */
  jar?: CookieJar;
}

/** A minimal cookie jar keyed by host; path and expiry are ignored (loopback tests only). */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  store(url: URL, response: Response): void {
    const jar = this.cookies.get(url.host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(url.host, jar);
  }

  header(url: URL): string | undefined {
    const jar = this.cookies.get(url.host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * A headless user agent: follows an authorization URL with `fetch(redirect: 'manual')` and a
 * cookie jar through the AS's login and consent (auto-approving interaction routes, or
 * oidc-provider's dev-interaction forms, which it fills and submits) until a `Location` points
 * at `redirectUri`. Returns the callback's parameters without requesting the callback.
 */
export async function followAuthorization(authorizationUrl: string, options: BrowserlessOptions): Promise<CallbackParams> {
  const jar = options.jar ?? new CookieJar();
  const maxSteps = options.maxSteps ?? 20;
  let url = new URL(authorizationUrl);
  let init: RequestInit = { method: 'GET' };

  for (let step = 0; step < maxSteps; step++) {
    const headers = new Headers(init.headers);
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(url, res);

    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.href.startsWith(options.redirectUri)) return parseCallback(next);
      url = next;
      init = { method: 'GET' };
      continue;
    }

    const body = await res.text();
    const form = res.ok ? parseForm(body) : undefined;
    if (!form) {
      throw new Error(`browserless: stuck at ${url.pathname} with HTTP ${res.status}: ${body.slice(0, 300)}`);
    }
    // Dev interactions: the login form wants a name, the consent form just a submit.
    const fields = new URLSearchParams(form.fields);
    if (fields.has('login') || /name="login"/.test(body)) fields.set('login', options.login ?? 'alice');
    if (/name="password"/.test(body)) fields.set('password', 'test');
    url = new URL(form.action, url);
    init = { method: form.method, body: fields, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error(`browserless: no redirect to ${options.redirectUri} within ${maxSteps} steps`);
}

function parseCallback(url: URL): CallbackParams {
  const p = url.searchParams;
  const get = (k: string): string | undefined => p.get(k) ?? undefined;
  const out: CallbackParams = { url: url.href };
  for (const [key, name] of [
    ['code', 'code'],
    ['state', 'state'],
    ['iss', 'iss'],
    ['error', 'error'],
    ['error_description', 'errorDescription'],
  ] as const) {
    const v = get(key);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function parseForm(html: string): { action: string; method: string; fields: [string, string][] } | undefined {
  const formMatch = /<form[^>]*>/i.exec(html);
  if (!formMatch) return undefined;
  const tag = formMatch[0];
  const action = /action="([^"]*)"/i.exec(tag)?.[1] ?? '';
  const method = (/method="([^"]*)"/i.exec(tag)?.[1] ?? 'POST').toUpperCase();
  const fields: [string, string][] = [];
  for (const input of html.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[0])?.[1];
    const value = /value="([^"]*)"/i.exec(input[0])?.[1] ?? '';
    if (name) fields.push([name, value.replace(/&amp;/g, '&')]);
  }
  return { action: action.replace(/&amp;/g, '&'), method, fields };
}
