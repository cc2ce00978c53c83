import test from 'ava';
import { followAuthorization } from '../../support/browserless.js';
import { cookieFrom, jwt, startApp } from './_app.js';

const path = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

test('a full flow through the routes: concurrent reinitialize joins, unbound callback refused, duplicate callback not re-exchanged', async (t) => {
  const app = await startApp();
  t.teardown(() => app.close());

  // Two tabs click Connect at once: one attempt, two browser bindings.
  const [r1, r2] = await Promise.all([
    app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'alice' }),
    app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'alice' }),
  ]);
  t.is(r1.status, 200);
  t.is(r2.status, 200);
  const b1 = (await r1.json()) as { flowId: string; oauthUrl: string; oauthRequired: boolean; success: boolean; serverName: string };
  const b2 = (await r2.json()) as { flowId: string; oauthUrl: string };
  t.like(b1, { success: true, oauthRequired: true, serverName: 'files' });
  t.is(b1.flowId, b2.flowId, 'same attempt');
  t.is(b1.oauthUrl, b2.oauthUrl, 'same authorization URL');
  const c1 = cookieFrom(r1);
  const c2 = cookieFrom(r2);
  t.truthy(c1);
  t.truthy(c2);
  t.regex(c1!.line, /HttpOnly/);
  t.regex(c1!.line, /SameSite=Lax/);
  t.regex(c1!.line, /Path=\/api\/mcp/);
  t.notRegex(c1!.line, /Secure/, 'plain-http PUBLIC_URL: no Secure flag');
  t.not(c1!.pair, c2!.pair, 'each binding has its own secret');
  t.is(app.peers.registrations(), 1);

  const status = await app.call(`/api/mcp/oauth/status/${b1.flowId}`, { user: 'alice' });
  t.like(await status.json(), { status: 'PENDING', completed: false, failed: false });
  t.like(await (await app.call('/api/mcp/connection/status/files', { user: 'alice' })).json(), { connectionState: 'connecting', connectionStatus: 'connecting' });

  const callback = await followAuthorization(b1.oauthUrl, { redirectUri: app.redirectUri('files') });
  t.truthy(callback.code);

  // The callback URL alone (another browser, a leaked link) is refused; no token request.
  const headBefore = await app.head();
  const unbound = await app.call(path(callback.url));
  t.is(unbound.status, 302);
  t.is(unbound.headers.get('location'), `${app.base}/oauth/error?error=csrf_validation_failed`);
  t.is(app.peers.tokenRequests(), 0, 'no token request without the binding');
  t.is(await app.head(), headBefore, 'nothing appended');

  // The binding from the other tab works too: both are recorded on the attempt.
  const done = await app.call(path(callback.url), { cookie: c2!.pair });
  t.is(done.status, 302);
  t.is(done.headers.get('location'), `${app.base}/oauth/success?serverName=files`);
  t.is(done.headers.get('cache-control'), 'no-store');
  const cleared = cookieFrom(done);
  t.truthy(cleared);
  t.regex(cleared!.line, /Max-Age=0/, 'the binding cookie is cleared on the final outcome');
  t.is(app.peers.tokenRequests(), 1);

  // A replay of the same callback (back button, double delivery) is not exchanged again.
  const headAfter = await app.head();
  const again = await app.call(path(callback.url), { cookie: c2!.pair });
  t.is(again.headers.get('location'), `${app.base}/oauth/success?serverName=files`);
  t.is(app.peers.tokenRequests(), 1, 'no second token request');
  t.is(await app.head(), headAfter);

  t.like(await (await app.call(`/api/mcp/oauth/status/${b1.flowId}`, { user: 'alice' })).json(), { status: 'COMPLETED', completed: true, failed: false });
  const all = (await (await app.call('/api/mcp/connection/status', { user: 'alice' })).json()) as { success: boolean; connectionStatus: Record<string, { connectionState: string }> };
  t.is(all.connectionStatus.files?.connectionState, 'connected');
  const re = await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'alice' });
  t.like(await re.json(), { success: true, oauthRequired: false });

  // History: the owner and admins see it; anyone else gets the same 404 as for a missing flow.
  const history = await app.call(`/api/mcp/flows/${b1.flowId}/history`, { user: 'alice' });
  t.is(history.status, 200);
  const timeline = (await history.json()) as { events: Array<{ type: string }> };
  t.deepEqual(timeline.events.map((e) => e.type).filter((x) => x !== 'BrowserBound'), ['FlowInitiated', 'CodeExchangeStarted', 'FlowCompleted']);
  t.false(JSON.stringify(timeline).includes(callback.code!), 'no code in the audit view');
  const admin = await app.call(`/api/mcp/flows/${b1.flowId}/history`, { headers: { authorization: `Bearer ${jwt('root', { role: 'admin' })}` } });
  t.is(admin.status, 200);
  const other = await app.call(`/api/mcp/flows/${b1.flowId}/history`, { user: 'mallory' });
  t.is(other.status, 404);
  t.deepEqual(await other.json(), { error: 'not_found', message: 'Flow not found' });

  const metrics = await (await app.call('/metrics')).text();
  t.regex(metrics, /flow_engine_flows_started_total\{server="files"\} 1/);
  t.regex(metrics, /flow_engine_flows_completed_total\{server="files"\} 1/);
  t.regex(metrics, /flow_engine_callback_duration_seconds_count\{outcome="completed"\} 1/);
  t.regex(metrics, /flow_engine_store_append_duration_seconds_count [1-9]/);
  t.regex(metrics, /flow_engine_projection_lag_events\{projection="flow-status"\} \d+/);
  t.regex(metrics, /flow_engine_projection_running\{projection="flow-status"\} 1/);
});

test('initiate redirects to the authorization server and bind gives a second browser its own binding', async (t) => {
  const app = await startApp();
  t.teardown(() => app.close());

  const bindNone = await app.call('/api/mcp/files/oauth/bind', { method: 'POST', user: 'carol' });
  t.is(bindNone.status, 404, 'nothing pending to bind to');
  t.like(await bindNone.json(), { error: 'not_found' });

  const init = await app.call('/api/mcp/files/oauth/initiate', { user: 'carol' });
  t.is(init.status, 302);
  const location = init.headers.get('location')!;
  t.true(location.startsWith(`${app.peers.as.issuer}/auth?`));
  t.truthy(cookieFrom(init));

  const bind = await app.call('/api/mcp/files/oauth/bind', { method: 'POST', user: 'carol' });
  t.is(bind.status, 200);
  t.like(await bind.json(), { success: true });
  const bound = cookieFrom(bind)!;

  const callback = await followAuthorization(location, { redirectUri: app.redirectUri('files') });
  const done = await app.call(path(callback.url), { cookie: bound.pair });
  t.is(done.headers.get('location'), `${app.base}/oauth/success?serverName=files`);
  t.is(app.peers.tokenRequests(), 1);
});

test('a denied consent lands on error=access_denied and the flow is FAILED', async (t) => {
  const app = await startApp({ interactions: 'deny' });
  t.teardown(() => app.close());

  const r = await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'dave' });
  const body = (await r.json()) as { flowId: string; oauthUrl: string };
  const cookie = cookieFrom(r)!;
  const callback = await followAuthorization(body.oauthUrl, { redirectUri: app.redirectUri('files') });
  t.is(callback.error, 'access_denied');

  // Without the binding, the AS's error cannot fail the attempt (a leaked state is not enough).
  const before = await app.head();
  const forged = await app.call(path(callback.url));
  t.is(forged.headers.get('location'), `${app.base}/oauth/error?error=csrf_validation_failed`);
  t.is(await app.head(), before);
  t.like(await (await app.call(`/api/mcp/oauth/status/${body.flowId}`, { user: 'dave' })).json(), { status: 'PENDING' });

  const res = await app.call(path(callback.url), { cookie: cookie.pair });
  t.is(res.headers.get('location'), `${app.base}/oauth/error?error=access_denied`);
  t.regex(cookieFrom(res)!.line, /Max-Age=0/);
  t.like(await (await app.call(`/api/mcp/oauth/status/${body.flowId}`, { user: 'dave' })).json(), { status: 'FAILED', failed: true, error: 'access_denied' });
  t.like(await (await app.call('/api/mcp/connection/status/files', { user: 'dave' })).json(), { connectionState: 'error' });
  t.is(app.peers.tokenRequests(), 0);
  t.regex(await (await app.call('/metrics')).text(), /flow_engine_flows_failed_total\{server="files",reason="access_denied"\} 1/);
});

test('cancel ends the pending attempt, clears its cookie, and a later callback says flow_cancelled', async (t) => {
  const app = await startApp();
  t.teardown(() => app.close());

  const r = await app.call('/api/mcp/files/reinitialize', { method: 'POST', user: 'erin' });
  const body = (await r.json()) as { flowId: string; oauthUrl: string };
  const cookie = cookieFrom(r)!;
  const callback = await followAuthorization(body.oauthUrl, { redirectUri: app.redirectUri('files') });

  const cancel = await app.call('/api/mcp/oauth/cancel/files', { method: 'POST', user: 'erin' });
  t.like(await cancel.json(), { success: true });
  t.regex(cookieFrom(cancel)!.line, /Max-Age=0/);
  t.like(await (await app.call(`/api/mcp/oauth/status/${body.flowId}`, { user: 'erin' })).json(), { status: 'CANCELLED' });

  const again = await app.call('/api/mcp/oauth/cancel/files', { method: 'POST', user: 'erin' });
  t.like(await again.json(), { success: false });

  const late = await app.call(path(callback.url), { cookie: cookie.pair });
  t.is(late.headers.get('location'), `${app.base}/oauth/error?error=flow_cancelled`);
  t.is(app.peers.tokenRequests(), 0);
});
