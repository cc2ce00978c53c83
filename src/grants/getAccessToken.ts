import { systemClock } from '../clock.js';
import { lastRevision, readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import type { CommandContext } from '../flow/newEvent.js';
import { grantStream } from '../flow/streams.js';
import { reauthorizationRequired, refreshUnavailable } from './grantErrors.js';
import { foldGrant, type GrantState } from './fold.js';
import { openTokens } from './recordTokens.js';
import { awaitRefresh, claimRefresh, DEFAULT_REFRESH_POLICY, performRefresh, type RefreshPolicy } from './refreshGrant.js';
import { TokenCache } from './tokenCache.js';

export interface AccessTokenOptions {
  /** Refresh this long before the recorded expiry. Default 60 s. */
  skewMs?: number;
  /** How long a cached token is trusted before the grant stream's revision is checked again. Default 1 s. */
  validateEveryMs?: number;
  refresh?: Partial<RefreshPolicy>;
}

export interface TokenService {
  /**
   * A valid access token for (user, server), refreshed ahead of expiry; throws
   * `REAUTHORIZATION_REQUIRED` (details: `{ serverName, reinitialize }`) when only a new
   * authorization can help, or a retryable `TOKEN_REQUEST_FAILED` when the AS is unreachable.
   */
  getAccessToken(userId: string, serverName: string): Promise<string>;
  /** Drops the cached token (this process changed the grant, or the MCP server refused it). */
  invalidate(userId: string, serverName: string): void;
  /** The grant's current state, read from the store. */
  readGrant(userId: string, serverName: string): Promise<GrantState>;
}

/**
 * `getAccessToken` over the grant stream.
 *
 * Single flight at two levels: concurrent callers in one process share one promise per
 * (user, server); across processes and replicas the `RefreshStarted` claim (an append at the
 * revision read) elects one refresher and the others wait for its `TokensRefreshed` and
 * return the token it recorded. A claim left without outcome past its `claimExpiresAt` (the
 * claimant died) is taken over by the next caller.
 *
 * A grant whose refresh failed finally (`invalid_grant`, client rejected) is `unusable`:
 * every later call throws `REAUTHORIZATION_REQUIRED` from the log alone, without calling the
 * AS again, until a new `TokensIssued`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14
 */
export function createTokenService(deps: FlowDeps, options: AccessTokenOptions = {}): TokenService {
  const skewMs = options.skewMs ?? 60_000;
  const policy: RefreshPolicy = { ...DEFAULT_REFRESH_POLICY, ...options.refresh };
  const cache = new TokenCache(options.validateEveryMs ?? 1_000);
  // The hot path reads the time without allocating a Date when the clock is the system's.
  const nowMs = deps.clock === systemClock ? Date.now : () => deps.clock.now().getTime();
  const inflight = new Map<string, Promise<string>>();

  const readGrant = async (userId: string, serverName: string): Promise<GrantState> =>
    foldGrant(await readDomainEvents(deps.store, grantStream(userId, serverName)));

  /** The last revision of the grant stream, one event read. */
  const grantRevision = (userId: string, serverName: string): Promise<bigint | null> => lastRevision(deps.store, grantStream(userId, serverName));

  const usable = (state: GrantState, now: number): boolean =>
    state.status === 'active' && state.tokens !== null && (state.tokenExpiresAt === null || now < state.tokenExpiresAt - skewMs);

  async function tokenOf(userId: string, serverName: string, state: GrantState): Promise<string> {
    let opened;
    try {
      opened = await openTokens(deps, state.tokens!, userId, serverName);
    } catch (err) {
      // A shredded or lost data key leaves nothing to use: the user must authorize again.
      throw reauthorizationRequired(serverName, 'grant_unreadable', { cause: err instanceof Error ? err.message : String(err) });
    }
    const now = deps.clock.now().getTime();
    cache.set(userId, serverName, {
      accessToken: opened.accessToken,
      promise: Promise.resolve(opened.accessToken),
      refreshAt: state.tokenExpiresAt === null ? Number.POSITIVE_INFINITY : state.tokenExpiresAt - skewMs,
      revision: state.revision!,
      checkedAt: now,
    });
    return opened.accessToken;
  }

  function refusal(serverName: string, state: GrantState): Error {
    switch (state.status) {
      case 'none':
        return reauthorizationRequired(serverName, 'no_grant');
      case 'revoked':
        return reauthorizationRequired(serverName, 'grant_revoked');
      default: {
        const f = state.lastFailure;
        return reauthorizationRequired(serverName, f?.reason ?? 'grant_unusable', f?.oauthError ? { oauthError: f.oauthError } : {});
      }
    }
  }

  async function slowPath(userId: string, serverName: string): Promise<string> {
    const cached = cache.get(userId, serverName);
    if (cached && deps.clock.now().getTime() < cached.refreshAt && (await grantRevision(userId, serverName)) === cached.revision) {
      cached.checkedAt = deps.clock.now().getTime();
      return cached.accessToken;
    }
    cache.delete(userId, serverName);
    for (let round = 0; round < 8; round++) {
      const state = await readGrant(userId, serverName);
      const now = deps.clock.now();
      if (state.status !== 'active') throw refusal(serverName, state);
      if (usable(state, now.getTime())) return tokenOf(userId, serverName, state);
      if (!state.hasRefreshToken) throw reauthorizationRequired(serverName, 'expired_without_refresh_token');

      if (state.refresh && state.refresh.claimExpiresAt > now.getTime()) {
        const after = await awaitRefresh(deps, policy, userId, serverName, state.refresh.refreshId);
        const failed = after.lastFailure?.refreshId === state.refresh.refreshId ? after.lastFailure : null;
        if (failed?.retryable) throw refreshUnavailable(serverName, { reason: failed.reason, retryable: true, clientRejected: false, ...(failed.status !== undefined ? { status: failed.status } : {}) });
        continue; // refreshed, final failure (status says so) or overdue: decide again
      }

      const refreshId = deps.random.uuid();
      const ctx: CommandContext = { now, correlationId: `refresh-${refreshId}`, actor: 'system' };
      const claimRevision = await claimRefresh(deps, policy, userId, serverName, state, refreshId, ctx);
      if (claimRevision === null) continue; // another caller claimed (or the grant changed): re-read
      await performRefresh(deps, policy, { userId, serverName, state, refreshId, claimRevision }, ctx);
    }
    throw refreshUnavailable(serverName, { reason: 'contention', retryable: true, clientRejected: false });
  }

  return {
    getAccessToken(userId, serverName) {
      const hit = cache.get(userId, serverName);
      if (hit !== undefined) {
        const now = nowMs();
        if (now < hit.refreshAt && now - hit.checkedAt < cache.validateEveryMs) return hit.promise;
      }
      const key = `${userId}\u0000${serverName}`;
      let p = inflight.get(key);
      if (!p) {
        p = slowPath(userId, serverName).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return p;
    },
    invalidate: (userId, serverName) => cache.delete(userId, serverName),
    readGrant,
  };
}
