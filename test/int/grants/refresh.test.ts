import test from 'ava';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { createOAuthDriver } from '../../../src/oauth/index.js';
import { newEvent } from '../../../src/flow/newEvent.js';
import { grantStream } from '../../../src/flow/streams.js';
import type { OidcProviderHandle } from '../../support/oidcProvider.js';
import { eventsOf, LOOPBACK, startEngine, startPeers } from '../../support/engineHarness.js';
import { currentTokens, grantEventTypes, movableClock, recordingDriver, revokeAtAs } from '../../support/grantHelpers.js';

const HOUR = 3_600_000;

async function setup(t: import('ava').ExecutionContext, grants: Parameters<typeof startEngine>[0]['grantOptions'] = {}) {
  const peers = await startPeers('oidc');
  const clock = movableClock();
  const driver = recordingDriver(createOAuthDriver({ allowedDomains: LOOPBACK, clock }));
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, clock, driver, grantOptions: grants });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  t.true((await h.connect('alice', 'files')).ok);
  const as = peers.as as OidcProviderHandle;
  return { peers, clock, driver, h, as, refreshes: () => as.counts.token.refresh_token ?? 0 };
}

test('a valid token is returned without calling the authorization server', async (t) => {
  const { h, refreshes } = await setup(t);
  const issued = await currentTokens(h.engine, 'alice', 'files');
  t.is(await h.engine.getAccessToken('alice', 'files'), issued.accessToken);
  t.is(await h.engine.getAccessToken('alice', 'files'), issued.accessToken);
  t.is(refreshes(), 0);
  t.deepEqual(await grantEventTypes(h.store, 'alice', 'files'), ['TokensIssued']);
});

test('an expiring token is refreshed once, the rotation is recorded and the MCP server accepts the new token', async (t) => {
  const { h, clock, driver, refreshes, peers } = await setup(t);
  const issued = await currentTokens(h.engine, 'alice', 'files');
  t.truthy(issued.refreshToken, 'oidc-provider issued a refresh token');
  clock.advance(HOUR);
  const tokens = await Promise.all(Array.from({ length: 10 }, () => h.engine.getAccessToken('alice', 'files')));
  t.is(new Set(tokens).size, 1, 'concurrent callers share one refresh');
  t.not(tokens[0], issued.accessToken);
  t.is(refreshes(), 1);
  t.deepEqual(await grantEventTypes(h.store, 'alice', 'files'), ['TokensIssued', 'RefreshStarted', 'TokensRefreshed']);
  const refreshed = (await eventsOf(h.store, 'grant')).find((e) => e.type === 'TokensRefreshed')!;
  t.is(refreshed.data.rotated, true);

  clock.advance(HOUR);
  await h.engine.getAccessToken('alice', 'files');
  t.is(refreshes(), 2);
  t.is(new Set(driver.presented).size, driver.presented.length, 'no refresh token was presented twice');
  const verified = await h.engine.verifyConnection('alice', 'files');
  t.like(verified, { ok: true });
  t.true(peers.mcp.counts.authorized > 0);
});

test('invalid_grant makes the grant unusable: re-authorization required, and no further AS request', async (t) => {
  const { h, clock, refreshes, as } = await setup(t);
  const issued = await currentTokens(h.engine, 'alice', 'files');
  await revokeAtAs(h.engine, 'alice', 'files', issued.refreshToken!, 'refresh_token');
  clock.advance(HOUR);
  const first = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.is(first.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.like(first.details, { serverName: 'files', reinitialize: '/api/mcp/files/reinitialize', oauthError: 'invalid_grant' });
  t.is(refreshes(), 1);
  const before = as.tokenRequests();
  const second = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.is(second.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.is(as.tokenRequests(), before, 'the second call made no request at the AS');
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'error', error: 'reauthorization_required' });
  const failed = (await eventsOf(h.store, 'grant')).find((e) => e.type === 'RefreshFailed')!;
  t.like(failed.data, { oauthError: 'invalid_grant', retryable: false });

  t.true((await h.connect('alice', 'files')).ok, 'a new authorization');
  t.truthy(await h.engine.getAccessToken('alice', 'files'));
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'connected' });
});

test('a client the AS forgot is discarded on refresh and re-authorization is required', async (t) => {
  const { h, clock, as } = await setup(t);
  await as.restart();
  clock.advance(HOUR);
  const err = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.like(err.details, { reason: 'client_rejected', oauthError: 'invalid_client' });
  t.deepEqual((await eventsOf(h.store, 'client')).map((e) => e.type), ['ClientRegistrationStarted', 'ClientRegistered', 'ClientRegistrationDiscarded']);
  t.true((await h.connect('alice', 'files')).ok, 'the next attempt registers afresh and succeeds');
  t.is(as.counts.registration, 2, 'a second registration (counts span restarts)');
});

test('a transient failure is retried a bounded number of times, then reported as retryable', async (t) => {
  const { h, clock, driver } = await setup(t, { grants: { tokens: { refresh: { backoffMs: 5 } } } });
  driver.failRefreshWith = () => new EngineError(ErrorCode.TOKEN_REQUEST_FAILED, 'token refresh failed: HTTP 503', { details: { status: 503, reason: 'unstructured_error_response' } });
  clock.advance(HOUR);
  const err = await t.throwsAsync(h.engine.getAccessToken('alice', 'files'), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.TOKEN_REQUEST_FAILED);
  t.like(err.details, { retryable: true, reason: 'http_503' });
  t.is(driver.presented.length, 3, 'three tries');
  t.like(await h.engine.getConnectionStatus('alice', 'files'), { connectionState: 'error', error: 'token_refresh_failed' });

  driver.failRefreshWith = undefined;
  t.truthy(await h.engine.getAccessToken('alice', 'files'), 'the AS is back: the same grant refreshes');
  t.deepEqual(await grantEventTypes(h.store, 'alice', 'files'), ['TokensIssued', 'RefreshStarted', 'RefreshFailed', 'RefreshStarted', 'TokensRefreshed']);
});

test('no grant means re-authorization required, with the way to start it', async (t) => {
  const peers = await startPeers('oidc');
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  const err = await t.throwsAsync(h.engine.getAccessToken('bob', 'files'), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.deepEqual(err.details, { serverName: 'files', reinitialize: '/api/mcp/files/reinitialize', reason: 'no_grant' });
});

test('a claim whose claimant died is taken over once it expires', async (t) => {
  const { h, clock, refreshes } = await setup(t);
  clock.advance(HOUR);
  const now = clock.now();
  // Another replica claimed the refresh and vanished: its claim ran out 1 s ago.
  await h.store.appendToStream(grantStream('alice', 'files'), newEvent('RefreshStarted', { refreshId: 'dead-replica', claimExpiresAt: new Date(now.getTime() - 1_000).toISOString() }, { now, correlationId: 'test', actor: 'system' }));
  const token = await h.engine.getAccessToken('alice', 'files');
  t.is(token, (await currentTokens(h.engine, 'alice', 'files')).accessToken);
  t.is(refreshes(), 1);
  t.deepEqual(await grantEventTypes(h.store, 'alice', 'files'), ['TokensIssued', 'RefreshStarted', 'RefreshStarted', 'TokensRefreshed']);
});

test('a disconnect while a refresh is in flight: the tokens that refresh obtained are revoked at the AS, and the caller must authorize again', async (t) => {
  const { h, clock, driver } = await setup(t);
  const innerRefresh = driver.refresh.bind(driver);
  const innerRevoke = driver.revoke.bind(driver);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const refreshing = new Promise<void>((r) => (entered = r));
  let obtained: { accessToken: string; refreshToken?: string | undefined } | undefined;
  // The AS has answered; its answer is still on its way when the disconnect runs.
  driver.refresh = async (input) => {
    const tokens = await innerRefresh(input);
    obtained = tokens;
    entered();
    await gate;
    return tokens;
  };
  const revoked: string[] = [];
  driver.revoke = async (input) => (revoked.push(input.token), innerRevoke(input));

  clock.advance(HOUR);
  const pending = h.engine.getAccessToken('alice', 'files');
  await refreshing;
  const result = await h.engine.disconnect({ userId: 'alice', serverName: 'files', correlationId: 'test' });
  t.true(result.revoked);
  release();
  const err = await t.throwsAsync(pending, { instanceOf: EngineError });
  t.is(err.code, ErrorCode.REAUTHORIZATION_REQUIRED);
  t.truthy(obtained, 'the AS answered the refresh');
  t.true(revoked.includes(obtained!.accessToken), 'the access token the refresh obtained is revoked');
  if (obtained!.refreshToken) t.true(revoked.includes(obtained!.refreshToken), 'and its rotated refresh token');
  t.deepEqual(await grantEventTypes(h.store, 'alice', 'files'), ['TokensIssued', 'RefreshStarted', 'GrantRevoked']);
});
