import type { FlowDeps } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import type { SealedValue } from '../flow/sealed.js';
import { grantStream, timeKey, userServerKey } from '../flow/streams.js';
import type { TokenSet } from '../oauth/types.js';
import type { EventData } from '../store/types.js';

export interface IssuedGrant {
  flowId: string;
  userId: string;
  serverName: string;
  issuer: string;
  clientId: string;
  registrationKey?: string | undefined;
}

/** The AAD of a grant's sealed token set: it opens only in that grant stream. */
export const tokensAad = (userId: string, serverName: string): string => `${grantStream(userId, serverName)}:tokens`;

/**
 * A fresh data-key id for one issuance: every authorization gets its own key, so a disconnect
 * shreds exactly what that grant stream sealed and a later grant never reuses a shredded key.
 * It starts with its creation time ({@link timeKey}): keyed by the (user, server) hash alone,
 * each new key took a random page of the key table, a page more for every completed flow's
 * commit to write (bench/http: the claim turn's commit wrote 315 WAL pages for 200 flows, 60
 * with time-ordered ids).
 */
export const newDataKeyId = (deps: Pick<FlowDeps, 'random' | 'clock'>, userId: string, serverName: string): string =>
  `${timeKey(deps.clock.now())}.${userServerKey(userId, serverName)}.${deps.random.token(12)}`;

/** The token set as it is sealed into grant events (plaintext only between open and use). */
export interface StoredTokens {
  accessToken: string;
  refreshToken?: string | undefined;
  idToken?: string | undefined;
  tokenType: string;
  expiresAt?: number | undefined;
  scope?: string | undefined;
}

/** Seals a token set for the grant stream of (user, server) under data key `keyId`. */
export async function sealTokens(deps: Pick<FlowDeps, 'grantSealer'>, keyId: string, userId: string, serverName: string, tokens: TokenSet): Promise<SealedValue> {
  const { accessToken, refreshToken, idToken, tokenType, expiresAt, scope } = tokens;
  const stored: StoredTokens = { accessToken, refreshToken, idToken, tokenType, expiresAt, scope };
  return deps.grantSealer.seal(keyId, JSON.stringify(stored), tokensAad(userId, serverName));
}

/** Opens a grant's sealed token set; `KEY_SHREDDED` after a disconnect. */
export async function openTokens(deps: Pick<FlowDeps, 'grantSealer'>, sealed: SealedValue, userId: string, serverName: string): Promise<StoredTokens> {
  return JSON.parse(await deps.grantSealer.open(sealed, tokensAad(userId, serverName))) as StoredTokens;
}

/**
 * The `TokensIssued` event of a completed flow, for the grant stream of (user, server): the
 * token set sealed under a new data key of this grant, `keyId` (created here unless the caller
 * prepared it; stored before this returns).
 * Appending it is the caller's: the callback writes it together with `FlowCompleted`.
 */
export async function tokensIssuedEvent(
  deps: FlowDeps,
  grant: IssuedGrant,
  tokens: TokenSet,
  ctx: CommandContext,
  keyId: string = newDataKeyId(deps, grant.userId, grant.serverName),
): Promise<{ stream: string; event: EventData }> {
  const { refreshToken, expiresAt, scope } = tokens;
  const sealed = await sealTokens(deps, keyId, grant.userId, grant.serverName, tokens);
  const event = newEvent('TokensIssued', {
    flowId: grant.flowId,
    userId: grant.userId,
    serverName: grant.serverName,
    issuer: grant.issuer,
    clientId: grant.clientId,
    ...(grant.registrationKey ? { registrationKey: grant.registrationKey } : {}),
    tokens: sealed,
    ...(expiresAt ? { tokenExpiresAt: new Date(expiresAt).toISOString() } : {}),
    ...(scope ? { scope } : {}),
    hasRefreshToken: Boolean(refreshToken),
  }, ctx);
  // A fixed id makes re-appending this event after a partial multi-stream write idempotent.
  return { stream: grantStream(grant.userId, grant.serverName), event: { ...event, id: deps.random.uuid() } };
}
