import test from 'ava';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import type { DomainEvent } from '../../../src/flow/catalogue.js';
import { classifyRefreshFailure } from '../../../src/grants/grantErrors.js';
import { foldGrant } from '../../../src/grants/fold.js';
import { scopeUnion } from '../../../src/grants/stepUp.js';

let rev = 0n;
const ev = (type: string, data: Record<string, unknown>): DomainEvent => ({
  type,
  data,
  metadata: { at: '2026-11-26T12:00:00.000Z', schemaVersion: 1, machineVersion: 1, correlationId: 'c', actor: 'a' } as DomainEvent['metadata'],
  streamId: 'grant-x',
  revision: rev++,
  id: `e${rev}`,
});
const sealed = (dk: string) => ({ v: 1, kid: 'k', iv: 'i', ct: 'c', tag: 't', dk });
const issued = (dk = 'key-1') => ev('TokensIssued', { flowId: 'f', userId: 'u', serverName: 's', issuer: 'i', clientId: 'c', tokens: sealed(dk), tokenExpiresAt: '2026-11-26T13:00:00.000Z', hasRefreshToken: true });

test('a refresh outcome only counts for the open claim it names', (t) => {
  const s = foldGrant([
    issued(),
    ev('RefreshStarted', { refreshId: 'r1', claimExpiresAt: '2026-11-26T12:00:30.000Z' }),
    ev('TokensRefreshed', { refreshId: 'stale', tokens: sealed('key-1'), rotated: true, hasRefreshToken: true }),
  ]);
  t.is(s.refresh?.refreshId, 'r1', 'an outcome of another claim is ignored');
  const done = foldGrant([issued(), ev('RefreshStarted', { refreshId: 'r1', claimExpiresAt: '2026-11-26T12:00:30.000Z' }), ev('TokensRefreshed', { refreshId: 'r1', tokens: sealed('key-1'), rotated: true, hasRefreshToken: true })]);
  t.like(done, { status: 'active', refresh: null, refreshes: 1, tokenExpiresAt: null });
});

test('a final refresh failure makes the grant unusable until new tokens are issued', (t) => {
  const failed = [issued(), ev('RefreshStarted', { refreshId: 'r1', claimExpiresAt: '2026-11-26T12:00:30.000Z' }), ev('RefreshFailed', { refreshId: 'r1', reason: 'invalid_grant', oauthError: 'invalid_grant', retryable: false })];
  t.is(foldGrant(failed).status, 'unusable');
  t.is(foldGrant([...failed, issued('key-2')]).status, 'active');
  t.deepEqual(foldGrant([...failed, issued('key-2')]).dataKeys, ['key-1', 'key-2'], 'every data key is remembered for the shredding');
  const transient = [issued(), ev('RefreshStarted', { refreshId: 'r1', claimExpiresAt: '2026-11-26T12:00:30.000Z' }), ev('RefreshFailed', { refreshId: 'r1', reason: 'http_503', retryable: true })];
  t.like(foldGrant(transient), { status: 'active', refresh: null, lastFailure: { retryable: true } });
});

test('a revoked grant has no tokens', (t) => {
  const s = foldGrant([issued(), ev('GrantRevoked', { reason: 'user_disconnected', revokedAtAs: { access: 'revoked', refresh: 'revoked' } })]);
  t.like(s, { status: 'revoked', tokens: null, hasRefreshToken: false });
});

test('refresh failures are classified by the OAuth error code, not the message', (t) => {
  const err = (details: Record<string, unknown>, message = 'whatever') => new EngineError(ErrorCode.TOKEN_REQUEST_FAILED, message, { details });
  t.like(classifyRefreshFailure(err({ oauthError: 'invalid_grant', status: 400 })), { reason: 'invalid_grant', retryable: false, clientRejected: false });
  t.like(classifyRefreshFailure(err({ oauthError: 'invalid_client', status: 401 })), { reason: 'client_rejected', retryable: false, clientRejected: true });
  t.like(classifyRefreshFailure(err({ oauthError: 'unauthorized_client', status: 400 })), { clientRejected: true });
  t.like(classifyRefreshFailure(err({ oauthError: 'temporarily_unavailable', status: 503 })), { retryable: true });
  t.like(classifyRefreshFailure(err({ status: 502, reason: 'unstructured_error_response' }, 'invalid_grant')), { reason: 'http_502', retryable: true, clientRejected: false });
  t.like(classifyRefreshFailure(err({ reason: 'network_error' })), { reason: 'network_error', retryable: true });
  t.like(classifyRefreshFailure(new EngineError(ErrorCode.UPSTREAM_TIMEOUT, 'slow')), { reason: 'timeout', retryable: true });
  t.like(classifyRefreshFailure(err({ status: 400 })), { reason: 'http_400', retryable: false });
});

test('step-up scopes are the sorted union, without duplicates', (t) => {
  t.is(scopeUnion('mcp:tools', 'mcp:tools openid', 'mcp:write'), 'mcp:tools mcp:write openid');
  t.is(scopeUnion(null, undefined, ''), '');
});
