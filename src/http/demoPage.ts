import type { Context, Middleware } from 'koa';
import { bearerToken, principalOf, type Authenticate } from './authenticate.js';
import { readCookie, serializeCookie } from './cookies.js';
import { escapeHtml, sendPage } from './html.js';
import { signHs256Jwt, verifyHs256Jwt } from './jwt.js';

/** The demo page's session cookie: the demo user's JWT, never visible to page scripts. */
export const DEMO_SESSION_COOKIE = 'demo_session';
const SESSION_SECONDS = 12 * 3600;

export interface DemoOptions {
  /** The development `JWT_SECRET` generated for this demo run. */
  jwtSecret: string;
  userId: string;
  /** Demo mode makes its one user an operator too, so `/dashboard` opens in the same browser. */
  role?: 'admin';
  now?: () => number;
}

/** Mints the demo user's JWT (demo mode only). */
export function mintDemoToken(options: DemoOptions, seconds = SESSION_SECONDS): string {
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  return signHs256Jwt({ sub: options.userId, ...(options.role ? { role: options.role } : {}), iat: now, exp: now + seconds }, options.jwtSecret);
}

/**
 * Demo mode's authenticator: the bearer JWT like everywhere, or the demo page's session
 * cookie. The cookie is SameSite=Strict and refused on requests the browser marks
 * cross-site (`Sec-Fetch-Site`), so another site cannot ride it.
 */
export function demoAuthenticator(options: DemoOptions): Authenticate {
  const now = options.now ?? Date.now;
  return (ctx) => {
    const token = bearerToken(ctx) ?? (ctx.get('sec-fetch-site') === 'cross-site' ? undefined : readCookie(ctx.get('cookie'), DEMO_SESSION_COOKIE));
    if (!token) return null;
    const verdict = verifyHs256Jwt(token, options.jwtSecret, now());
    return verdict.ok ? principalOf(verdict.claims) : null;
  };
}

/**
 * `GET /`: the newcomer's page. Lists the configured servers with a Connect button and their
 * live connection state (polled from `GET /api/mcp/connection/status`). It signs the visitor
 * in as the demo user through an HttpOnly cookie, so no token ever appears in the page.
 */
export function demoPage(options: DemoOptions): Middleware {
  return async (ctx: Context, next) => {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.append('Set-Cookie', serializeCookie(DEMO_SESSION_COOKIE, mintDemoToken(options), {
      maxAgeSeconds: SESSION_SECONDS, path: '/', secure: ctx.protocol === 'https', httpOnly: true, sameSite: 'Strict',
    }));
    sendPage(ctx, 200, 'Flow engine demo', `<h1>Flow engine demo</h1>
<p>Signed in as <code>${escapeHtml(options.userId)}</code> (operators' view: <a href="/dashboard">dashboard</a>). Connect to an MCP server: you will sign in at its
authorization server (any user name and password work there), consent, and come back here.</p>
<table><thead><tr><th>MCP server</th><th>State</th><th></th></tr></thead><tbody id="servers"><tr><td colspan="3">Loading…</td></tr></tbody></table>
<p class="muted" id="note"></p>`, SCRIPT);
  };
}

/** Builds rows with DOM APIs only (textContent), so server names can never become markup. */
const SCRIPT = `
const tbody = document.getElementById('servers');
const note = document.getElementById('note');
async function connect(name, button) {
  button.disabled = true;
  note.textContent = '';
  try {
    const res = await fetch('/api/mcp/' + encodeURIComponent(name) + '/reinitialize', { method: 'POST', credentials: 'same-origin' });
    const body = await res.json();
    if (!res.ok) { note.textContent = 'Could not start: ' + (body.error || res.status); button.disabled = false; return; }
    if (body.oauthRequired && /^https?:\\/\\//.test(body.oauthUrl || '')) { window.location.assign(body.oauthUrl); return; }
    await refresh();
  } catch (e) { note.textContent = 'Could not start: ' + e; button.disabled = false; }
}
let last = '';
function render(statuses) {
  const key = JSON.stringify(statuses);
  if (key === last) return;
  last = key;
  const rows = Object.entries(statuses).map(([name, s]) => {
    const tr = document.createElement('tr');
    tr.dataset.server = name;
    const n = document.createElement('td'); n.textContent = name;
    const st = document.createElement('td'); st.className = 'state ' + (s.connectionState === 'connected' ? 'ok' : s.connectionState === 'error' ? 'bad' : '');
    st.textContent = s.connectionState + (s.error ? ' (' + s.error + ')' : '');
    const b = document.createElement('td');
    if (s.connectionState !== 'connected') {
      const button = document.createElement('button');
      button.textContent = 'Connect';
      button.addEventListener('click', () => connect(name, button));
      b.append(button);
    }
    tr.append(n, st, b);
    return tr;
  });
  tbody.replaceChildren(...rows);
}
async function refresh() {
  try {
    const res = await fetch('/api/mcp/connection/status', { credentials: 'same-origin' });
    if (res.ok) render((await res.json()).connectionStatus);
  } catch {}
}
refresh();
setInterval(refresh, 1500);
`;
