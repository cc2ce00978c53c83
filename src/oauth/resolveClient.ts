import { isHttpsUrl, registerClient } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import type { FetchLike } from './guardedFetch.js';
import { observingFetch, toEngineError } from './oauthErrors.js';
import type { ClientIdentity, DiscoveryResult, McpServerConfig, RegisterInput } from './types.js';

export interface ResolveClientDeps {
  fetch: FetchLike;
}

/** Response fields that are credentials: never copied into `registrationResponse`. */
const SECRET_FIELDS = new Set(['client_secret', 'registration_access_token']);

/**
 * How the client identity will be obtained, in the spec's priority (pre-registered, Client ID
 * Metadata Document when advertised, dynamic registration), decided from configuration and
 * discovery alone: what cannot work (`CONFIG_INVALID`, `NO_CLIENT_IDENTITY`) is known before
 * any request is made or anything recorded.
 */
export function clientRoute(server: McpServerConfig, discovery: DiscoveryResult): 'preregistered' | 'cimd' | 'dcr' {
  const oauth = server.oauth ?? {};
  if (oauth.client_id) return 'preregistered';
  if (discovery.clientIdMetadataDocumentSupported && oauth.client_metadata_url) {
    if (!isHttpsUrl(oauth.client_metadata_url)) {
      throw new EngineError(ErrorCode.CONFIG_INVALID, `client_metadata_url ${quote(oauth.client_metadata_url)} must be an https URL with a path`);
    }
    return 'cimd';
  }
  if (!discovery.registrationEndpoint) {
    throw new EngineError(
      ErrorCode.NO_CLIENT_IDENTITY,
      `${quote(discovery.issuer)} offers no dynamic registration and no client is configured`,
      { details: { issuer: discovery.issuer } },
    );
  }
  return 'dcr';
}

/**
 * Obtains a client identity for one authorization server, in the MCP spec's priority order:
 *
 * 1. pre-registered credentials from the server's config (`client_id`, `client_secret`);
 * 2. a Client ID Metadata Document when the AS advertises
 *    `client_id_metadata_document_supported` and `client_metadata_url` is configured
 *    (no HTTP call: the URL is the client id);
 * 3. RFC 7591 Dynamic Client Registration, with `application_type: "web"` (MCP 2026-07-28
 *    makes it a MUST; the SDK's metadata schema would strip it, so it is sent verbatim);
 * 4. otherwise `NO_CLIENT_IDENTITY`.
 *
 * Registration errors are `REGISTRATION_FAILED` with `details.oauthError` (RFC 7591 §3.2.2).
 * The identity is stamped with the issuer it belongs to (per-AS credential binding).
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-registration-approaches
 * @see https://www.rfc-editor.org/rfc/rfc7591
 */
export async function resolveClient(input: RegisterInput, deps: ResolveClientDeps): Promise<ClientIdentity> {
  const { discovery, redirectUri, server } = input;
  const oauth = server.oauth ?? {};
  const how = clientRoute(server, discovery);

  if (how === 'preregistered') {
    return {
      clientId: oauth.client_id!,
      ...(oauth.client_secret ? { clientSecret: oauth.client_secret } : {}),
      tokenEndpointAuthMethod: oauth.token_endpoint_auth_method ?? confidentialMethod(discovery, oauth.client_secret !== undefined),
      kind: 'preregistered',
      redirectUris: [redirectUri],
      issuer: discovery.issuer,
    };
  }

  if (how === 'cimd') {
    return {
      clientId: oauth.client_metadata_url!,
      // A metadata document cannot carry a shared secret (draft-ietf-oauth-client-id-metadata-document).
      tokenEndpointAuthMethod: 'none',
      kind: 'cimd',
      redirectUris: [redirectUri],
      issuer: discovery.issuer,
    };
  }

  const method = oauth.token_endpoint_auth_method ?? preferredDcrMethod(discovery);
  const refreshAdvertised = discovery.grantTypesSupported === undefined || discovery.grantTypesSupported.includes('refresh_token');
  const clientMetadata = {
    client_name: input.clientName,
    redirect_uris: [redirectUri],
    grant_types: refreshAdvertised ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: method,
    application_type: 'web',
    ...(input.scope ? { scope: input.scope } : {}),
  } as OAuthClientMetadata;

  const observed = observingFetch(deps.fetch);
  // The SDK's response schema strips fields it does not model (application_type, ...); the
  // audit copy keeps the AS's full answer.
  let raw: Record<string, unknown> | undefined;
  const capturing: FetchLike = async (url, init) => {
    const res = await observed.fetch(url, init);
    if (res.ok) {
      const body: unknown = await res.clone().json().catch(() => undefined);
      if (body && typeof body === 'object' && !Array.isArray(body)) raw = body as Record<string, unknown>;
    }
    return res;
  };
  let registered;
  try {
    registered = await registerClient(discovery.issuer, {
      metadata: discovery.metadata as AuthorizationServerMetadata,
      clientMetadata,
      ...(input.scope ? { scope: input.scope } : {}),
      fetchFn: capturing,
    });
  } catch (err) {
    throw toEngineError(ErrorCode.REGISTRATION_FAILED, `client registration at ${quote(discovery.issuer)}`, err, observed.lastFailure(), {
      issuer: discovery.issuer,
    });
  }

  const registrationResponse: Record<string, unknown> = {};
  for (const [key, value] of Object.entries({ ...raw, ...registered })) {
    if (!SECRET_FIELDS.has(key)) registrationResponse[key] = value;
  }
  return {
    clientId: registered.client_id,
    ...(registered.client_secret ? { clientSecret: registered.client_secret } : {}),
    tokenEndpointAuthMethod: registered.token_endpoint_auth_method ?? method,
    kind: 'dcr',
    redirectUris: registered.redirect_uris,
    ...(registered.client_secret_expires_at ? { clientSecretExpiresAt: registered.client_secret_expires_at } : {}),
    registrationResponse,
    issuer: discovery.issuer,
  };
}

/** A public client is enough for PKCE; ask for a secret only when the AS cannot do `none`. */
function preferredDcrMethod(discovery: DiscoveryResult): string {
  const supported = discovery.tokenEndpointAuthMethodsSupported;
  // RFC 8414 §2: absent means client_secret_basic only.
  if (supported === undefined) return 'client_secret_basic';
  if (supported.includes('none')) return 'none';
  if (supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  return supported[0] ?? 'client_secret_basic';
}

function confidentialMethod(discovery: DiscoveryResult, hasSecret: boolean): string {
  if (!hasSecret) return 'none';
  const supported = discovery.tokenEndpointAuthMethodsSupported;
  if (supported?.includes('client_secret_basic') || supported === undefined) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  return 'client_secret_basic';
}
