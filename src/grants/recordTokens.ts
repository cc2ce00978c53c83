import type { FlowDeps } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import { grantStream } from '../flow/streams.js';
import type { TokenSet } from '../oauth/types.js';

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
 * Records the tokens a completed flow obtained: one `TokensIssued` event on the grant
 * stream, the token set sealed. Returns the event's revision (referenced by `FlowCompleted`).
 */
export async function recordTokensIssued(deps: FlowDeps, grant: IssuedGrant, tokens: TokenSet, ctx: CommandContext): Promise<bigint> {
  const { accessToken, refreshToken, idToken, tokenType, expiresAt, scope } = tokens;
  const sealed = deps.sealer.seal(JSON.stringify({ accessToken, refreshToken, idToken, tokenType, expiresAt, scope }), tokensAad(grant.userId, grant.serverName));
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
  const r = await deps.store.appendToStream(grantStream(grant.userId, grant.serverName), event, { expectedRevision: 'any' });
  return r.nextExpectedRevision;
}
