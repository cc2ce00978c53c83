import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

/** A confidential client the MCP server uses to ask the AS about tokens (RFC 7662). */
export const RESOURCE_SERVER_CLIENT = {
  client_id: 'mcp-resource-server',
  client_secret: 'resource-server-secret-not-secret',
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

/**
 * An MCP-server token verifier that asks the AS on every request (RFC 7662 introspection), so
 * a token revoked at the AS is refused at once, unlike a self-contained JWT check.
 */
export function introspectionVerifier(issuer: string): (token: string) => Promise<AuthInfo> {
  const basic = Buffer.from(`${RESOURCE_SERVER_CLIENT.client_id}:${RESOURCE_SERVER_CLIENT.client_secret}`).toString('base64');
  return async (token) => {
    const res = await fetch(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }),
    });
    const body = (await res.json()) as { active?: boolean; client_id?: string; scope?: string; exp?: number; aud?: string | string[] };
    if (!res.ok || !body.active) throw new InvalidTokenError('token not active');
    const aud = Array.isArray(body.aud) ? body.aud[0] : body.aud;
    return {
      token,
      clientId: body.client_id ?? '',
      scopes: body.scope ? body.scope.split(' ') : [],
      ...(body.exp ? { expiresAt: body.exp } : {}),
      ...(aud ? { resource: new URL(aud) } : {}),
    };
  };
}
