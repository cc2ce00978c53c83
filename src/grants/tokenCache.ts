/** One cached access token of a (user, server). */
export interface CachedToken {
  accessToken: string;
  /** The same settled promise handed to every caller of the hot path (no allocation per call). */
  promise: Promise<string>;
  /** Epoch ms from which the token counts as expiring (expiry minus skew). */
  refreshAt: number;
  /** Grant stream revision the token was read at. */
  revision: bigint;
  /** Epoch ms of the last check that the grant stream is still at `revision`. */
  checkedAt: number;
}

/**
 * The hot path of `getAccessToken`: the current access token per (user, server), in memory.
 *
 * Consistency trade-off: an entry is trusted for `validateEveryMs` after its last check
 * against the store; after that, one cheap read of the grant stream's last revision confirms
 * it (or a full re-read replaces it). So a change made by another replica — a refresh, a
 * revocation, a new authorization — is seen at most `validateEveryMs` late. That is harmless
 * for refreshes (the old access token stays valid until its own expiry, and refreshes happen
 * `skew` ahead of it) and bounds how long a token revoked on another replica can still be
 * handed out here (the AS has already revoked it, so the MCP server refuses it anyway). Changes
 * made in this process invalidate the entry at once.
 *
 * Nested maps keyed by the raw ids: no hashing or string building per call.
 */
export class TokenCache {
  readonly #byUser = new Map<string, Map<string, CachedToken>>();

  constructor(readonly validateEveryMs: number) {}

  /** The entry when present; the caller checks `refreshAt` and `checkedAt`. */
  get(userId: string, serverName: string): CachedToken | undefined {
    return this.#byUser.get(userId)?.get(serverName);
  }

  set(userId: string, serverName: string, entry: CachedToken): void {
    let servers = this.#byUser.get(userId);
    if (!servers) this.#byUser.set(userId, (servers = new Map()));
    servers.set(serverName, entry);
  }

  delete(userId: string, serverName: string): void {
    const servers = this.#byUser.get(userId);
    if (!servers) return;
    servers.delete(serverName);
    if (servers.size === 0) this.#byUser.delete(userId);
  }
}
