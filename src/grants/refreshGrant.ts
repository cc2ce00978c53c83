import { discardClient } from '../clients/registry.js';
import { readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import { grantStream } from '../flow/streams.js';
import type { TokenSet } from '../oauth/types.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import { ErrorCode, isEngineError } from '../errors.js';
import { classifyRefreshFailure, reauthorizationRequired, refreshUnavailable, type RefreshFailureClass } from './grantErrors.js';
import { openGrant } from './grantClient.js';
import { foldGrant, type GrantState } from './fold.js';
import { newDataKeyId, sealTokens } from './recordTokens.js';
import { revokeTokens } from './revokeTokens.js';

export interface RefreshPolicy {
  /** How long a `RefreshStarted` claim holds before another replica may take it over. */
  claimTtlMs: number;
  /** Tries per claim for retryable failures (network, 5xx), backoff between them. */
  maxTries: number;
  backoffMs: number;
  /** How long a loser waits for the claimant's outcome. */
  waitMs: number;
}

/**
 * Defaults. The claim must outlive the claimant's worst case (3 tries × the driver's 10 s
 * request timeout + backoff), or a takeover could present the same refresh token again.
 */
export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { claimTtlMs: 60_000, maxTries: 3, backoffMs: 250, waitMs: 65_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Claims the refresh of a grant: appends `RefreshStarted` at the revision the decision was
 * taken on. Exactly one caller across all replicas wins that append; it alone presents the
 * refresh token (RFC 9700 §4.14: a rotated refresh token presented twice revokes the family).
 * Resolves the claim's revision, or null when someone else wrote first.
 */
export async function claimRefresh(deps: FlowDeps, policy: RefreshPolicy, userId: string, serverName: string, state: GrantState, refreshId: string, ctx: CommandContext): Promise<bigint | null> {
  const claim = newEvent('RefreshStarted', {
    refreshId,
    claimExpiresAt: new Date(ctx.now.getTime() + policy.claimTtlMs).toISOString(),
  }, ctx);
  try {
    const r = await deps.store.appendToStream(grantStream(userId, serverName), claim, { expectedRevision: state.revision ?? 'no_stream' });
    return r.nextExpectedRevision;
  } catch (err) {
    if (isWrongExpectedVersion(err)) return null;
    throw err;
  }
}

/**
 * The claimant's refresh (RFC 6749 §6): one token request (retried only for transient
 * failures), then the outcome appended right after the claim. Rotation is recorded: the new
 * refresh token replaces the old one in the sealed set, so the old one is never sent again.
 * Final failures (`invalid_grant`, client rejected) make the grant unusable until a new
 * authorization; a client rejection also discards the registration.
 */
export async function performRefresh(
  deps: FlowDeps,
  policy: RefreshPolicy,
  input: { userId: string; serverName: string; state: GrantState; refreshId: string; claimRevision: bigint },
  ctx: CommandContext,
): Promise<void> {
  const { userId, serverName, state, refreshId, claimRevision } = input;
  const stream = grantStream(userId, serverName);
  const append = async (type: string, data: unknown): Promise<boolean> => {
    try {
      await deps.store.appendToStream(stream, newEvent(type, data, { ...ctx, now: deps.clock.now() }), { expectedRevision: claimRevision });
      return true;
    } catch (err) {
      if (!isWrongExpectedVersion(err)) throw err;
      // A revocation or a new authorization (or a takeover of an overdue claim) came first.
      deps.logger.warn({ serverName, refreshId }, 'refresh outcome lost to a later grant event');
      return false;
    }
  };
  const fail = async (failure: RefreshFailureClass): Promise<never> => {
    await append('RefreshFailed', {
      refreshId,
      reason: failure.reason,
      retryable: failure.retryable,
      ...(failure.oauthError ? { oauthError: failure.oauthError } : {}),
      ...(failure.status !== undefined ? { status: failure.status } : {}),
    });
    if (failure.clientRejected && state.registrationKey && state.clientId) {
      await discardClient(deps, state.registrationKey, state.clientId, 'client_rejected', ctx).catch((err: unknown) =>
        deps.logger.warn({ serverName, err: String(err) }, 'could not discard the rejected client'),
      );
    }
    throw failure.retryable ? refreshUnavailable(serverName, failure) : reauthorizationRequired(serverName, failure.reason, failure.oauthError ? { oauthError: failure.oauthError } : {});
  };

  const opened = await openGrant(deps, state, userId, serverName, 'refresh');
  if (!opened) return fail({ reason: 'grant_unreadable', retryable: false, clientRejected: false });
  const { tokens: current, client } = opened;
  if (!current.refreshToken) return fail({ reason: 'no_refresh_token', retryable: false, clientRejected: false });

  let tokens: TokenSet | undefined;
  let failure: RefreshFailureClass | undefined;
  for (let attempt = 1; attempt <= policy.maxTries; attempt++) {
    try {
      tokens = await deps.driver.refresh({ discovery: client.discovery, client: client.client, refreshToken: current.refreshToken, server: client.server });
      break;
    } catch (err) {
      failure = classifyRefreshFailure(err);
      deps.logger.warn({ serverName, attempt, reason: failure.reason, oauthError: failure.oauthError }, 'token refresh failed');
      if (!failure.retryable || attempt === policy.maxTries) break;
      await sleep(policy.backoffMs * 2 ** (attempt - 1));
    }
  }
  if (!tokens) return fail(failure!);

  const dk = (state.tokens as { dk?: unknown }).dk;
  const keyId = typeof dk === 'string' ? dk : newDataKeyId(deps, userId, serverName);
  const scope = tokens.scope ?? current.scope;
  const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== current.refreshToken;
  let recorded = false;
  try {
    const sealed = await sealTokens(deps, keyId, userId, serverName, { ...tokens, ...(scope ? { scope } : {}) });
    recorded = await append('TokensRefreshed', {
      refreshId,
      tokens: sealed,
      rotated,
      ...(tokens.expiresAt ? { tokenExpiresAt: new Date(tokens.expiresAt).toISOString() } : {}),
      ...(scope ? { scope } : {}),
      hasRefreshToken: Boolean(tokens.refreshToken),
    });
  } catch (err) {
    // A disconnect while the request was out shredded the grant's key: nothing can be sealed.
    if (!isEngineError(err) || err.code !== ErrorCode.KEY_SHREDDED) throw err;
  }
  // Lost to a disconnect, these tokens are recorded nowhere and the disconnect revoked only
  // the ones it could read: revoke what this refresh alone obtained (the refresh token only if
  // it rotated). Lost to a new authorization or a takeover, they are left alone: revoking a
  // token may end its whole grant at the authorization server (RFC 7009 §2.1), the winner's
  // too. Either way the caller re-reads the grant and hears what won.
  if (!recorded && foldGrant(await readDomainEvents(deps.store, stream)).status === 'revoked') {
    await revokeTokens(deps, client, { accessToken: tokens.accessToken, refreshToken: rotated ? tokens.refreshToken : undefined }, serverName);
  }
}

/**
 * A loser of the claim waits for the claimant's outcome by re-reading the grant stream
 * (bounded). Resolves the state once the claim `refreshId` is resolved or overdue.
 */
export async function awaitRefresh(deps: FlowDeps, policy: RefreshPolicy, userId: string, serverName: string, refreshId: string): Promise<GrantState> {
  const until = Date.now() + policy.waitMs;
  for (let round = 0; ; round++) {
    const state = foldGrant(await readDomainEvents(deps.store, grantStream(userId, serverName)));
    if (state.refresh?.refreshId !== refreshId) return state;
    if (state.refresh.claimExpiresAt <= deps.clock.now().getTime() || Date.now() >= until) return state;
    await sleep(Math.min(5 * 2 ** round, 100));
  }
}
