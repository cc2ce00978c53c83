import { EngineError } from '../errors.js';
import type { FlowDeps } from '../flow/deps.js';
import type { GrantEventData } from './events.js';
import type { GrantClient } from './grantClient.js';

export type RevocationResult = GrantEventData<'GrantRevoked'>['revokedAtAs']['access'];

/**
 * Revokes tokens at the authorization server (RFC 7009), the refresh token first (revoking
 * it may revoke the grant's access tokens too). Best effort: a failure is logged and reported
 * as `failed`, never thrown, so the caller's own outcome stands.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revokeTokens(
  deps: FlowDeps,
  client: Pick<GrantClient, 'discovery' | 'client' | 'server'>,
  tokens: { accessToken?: string | undefined; refreshToken?: string | undefined },
  serverName: string,
): Promise<{ access: RevocationResult; refresh: RevocationResult }> {
  const one = async (token: string | undefined, hint: 'access_token' | 'refresh_token'): Promise<RevocationResult> => {
    if (!token) return 'absent';
    try {
      return (await deps.driver.revoke({ discovery: client.discovery, client: client.client, token, tokenTypeHint: hint, server: client.server })) ? 'revoked' : 'unsupported';
    } catch (err) {
      deps.logger.warn({ serverName, hint, code: err instanceof EngineError ? err.code : 'error' }, 'token revocation failed');
      return 'failed';
    }
  };
  const refresh = await one(tokens.refreshToken, 'refresh_token');
  const access = await one(tokens.accessToken, 'access_token');
  return { access, refresh };
}
