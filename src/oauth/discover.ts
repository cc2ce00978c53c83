import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { checkResourceAllowed, resourceUrlFromServerUrl } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import type { AuthorizationServerMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { EngineError, ErrorCode, isEngineError, quote } from '../errors.js';
import { isAllowedHost, isLoopbackAddress } from './addressPolicy.js';
import type { FetchLike } from './guardedFetch.js';
import { canonicalResourceUri } from './resource.js';
import type { DiscoverInput, DiscoveryResult, McpServerConfig } from './types.js';

export interface DiscoverDeps {
  /** The SSRF-guarded fetch (already carrying the server's configured headers). */
  fetch: FetchLike;
  /** Same list the guarded fetch uses; decides whether a plain-http authorization URL is allowed. */
  allowedDomains: readonly string[];
}

/**
 * Reads the challenge of an MCP server's 401 (RFC 9728 §5.1 `resource_metadata`, RFC 6750
 * `scope`) into the shape {@link discover} takes.
 */
export function challengeFromResponse(res: Response): { resourceMetadataUrl?: string; scope?: string } {
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(res);
  return {
    ...(resourceMetadataUrl ? { resourceMetadataUrl: resourceMetadataUrl.href } : {}),
    ...(scope ? { scope } : {}),
  };
}

/**
 * Discovers what is needed to authorize against an MCP server, in the MCP spec's order:
 *
 * 1. RFC 9728 protected-resource metadata: the challenge's `resource_metadata` URL when given,
 *    else `/.well-known/oauth-protected-resource/<path>` then the root well-known;
 * 2. RFC 8414 / OIDC Discovery metadata of the first listed authorization server, probed in the
 *    spec's order; its `issuer` must equal the identifier the URL was built from
 *    (RFC 8414 §3.3) → `ISSUER_MISMATCH`;
 * 3. PKCE: S256 must be advertised in `code_challenge_methods_supported` → `PKCE_UNSUPPORTED`;
 * 4. `resource` (RFC 8707): config `false` opts out, a config string overrides, else the PRM
 *    `resource` verbatim (after checking it covers the server URL), else the canonical URI;
 * 5. `scope`: the challenge's, else PRM `scopes_supported` joined, else config `scope`.
 *
 * A server configured with `authorization_url` + `token_url` skips network discovery: its
 * issuer is the authorization URL's origin and S256 is assumed (we always send it).
 *
 * Guard errors (`SSRF_BLOCKED`, `INSECURE_URL`, `UPSTREAM_TIMEOUT`, `RESPONSE_TOO_LARGE`) pass
 * through unchanged; other failures are `DISCOVERY_FAILED`.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-discovery
 * @see https://www.rfc-editor.org/rfc/rfc9728
 * @see https://www.rfc-editor.org/rfc/rfc8414
 */
export async function discover(input: DiscoverInput, deps: DiscoverDeps): Promise<DiscoveryResult> {
  const { server, challenge } = input;
  const serverUrl = parseUrl(server.url, 'server url');
  const oauth = server.oauth ?? {};

  if (oauth.authorization_url && oauth.token_url) return preconfigured(server, challenge?.scope, deps);

  let prm: OAuthProtectedResourceMetadata;
  try {
    prm = await discoverOAuthProtectedResourceMetadata(
      serverUrl,
      challenge?.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : undefined,
      deps.fetch,
    );
  } catch (err) {
    throw wrap(err, `no protected-resource metadata for ${quote(serverUrl.host)}`, { server: input.serverName });
  }

  // RFC 9728 §3.3 / GHSA-gvpj-vm2f-2m23: the metadata must describe this server, or a
  // malicious server could make us request tokens for another resource.
  if (!checkResourceAllowed({ requestedResource: resourceUrlFromServerUrl(serverUrl), configuredResource: prm.resource })) {
    throw new EngineError(
      ErrorCode.DISCOVERY_FAILED,
      `protected-resource metadata names resource ${quote(prm.resource)}, not ${quote(serverUrl.href)}`,
      { details: { server: input.serverName, resource: prm.resource } },
    );
  }

  const issuer = prm.authorization_servers?.[0];
  if (!issuer) {
    throw new EngineError(ErrorCode.DISCOVERY_FAILED, `protected-resource metadata of ${quote(serverUrl.host)} lists no authorization server`, {
      details: { server: input.serverName },
    });
  }
  parseUrl(issuer, 'authorization server');

  let metadata: AuthorizationServerMetadata | undefined;
  // The SDK's OIDC schema strips fields it does not know (revocation_endpoint,
  // authorization_response_iss_parameter_supported, ...): keep the raw document it accepted.
  let raw: Record<string, unknown> = {};
  const capturing: FetchLike = async (url, init) => {
    const res = await deps.fetch(url, init);
    if (res.ok) {
      try {
        const body: unknown = await res.clone().json();
        if (body && typeof body === 'object' && !Array.isArray(body)) raw = body as Record<string, unknown>;
      } catch {
        raw = {};
      }
    }
    return res;
  };
  try {
    metadata = await discoverAuthorizationServerMetadata(issuer, { fetchFn: capturing });
  } catch (err) {
    throw wrap(err, `authorization-server metadata of ${quote(issuer)} unreadable`, { server: input.serverName, issuer });
  }
  if (!metadata) {
    throw new EngineError(ErrorCode.DISCOVERY_FAILED, `no authorization-server metadata for ${quote(issuer)}`, {
      details: { server: input.serverName, issuer },
    });
  }
  if (metadata.issuer !== issuer) {
    throw new EngineError(ErrorCode.ISSUER_MISMATCH, `metadata issuer ${quote(metadata.issuer)} is not ${quote(issuer)}`, {
      details: { server: input.serverName, expectedIssuer: issuer, received: metadata.issuer },
    });
  }
  if (!metadata.code_challenge_methods_supported?.includes('S256')) {
    throw new EngineError(ErrorCode.PKCE_UNSUPPORTED, `${quote(issuer)} does not advertise S256 PKCE`, {
      details: { server: input.serverName, issuer, advertised: metadata.code_challenge_methods_supported ?? null },
    });
  }
  assertBrowserUrl(metadata.authorization_endpoint, deps.allowedDomains);

  const doc: Record<string, unknown> = { ...raw, ...metadata };
  const revocationEndpoint = typeof doc.revocation_endpoint === 'string' ? doc.revocation_endpoint : undefined;
  const prmScope = prm.scopes_supported?.length ? prm.scopes_supported.join(' ') : undefined;
  return {
    resource: chooseResource(oauth.resource, prm.resource, serverUrl),
    issuer,
    authorizationEndpoint: metadata.authorization_endpoint,
    tokenEndpoint: metadata.token_endpoint,
    ...(metadata.registration_endpoint ? { registrationEndpoint: metadata.registration_endpoint } : {}),
    ...(revocationEndpoint ? { revocationEndpoint } : {}),
    issParameterSupported: doc.authorization_response_iss_parameter_supported === true,
    clientIdMetadataDocumentSupported: doc.client_id_metadata_document_supported === true,
    ...(metadata.token_endpoint_auth_methods_supported
      ? { tokenEndpointAuthMethodsSupported: metadata.token_endpoint_auth_methods_supported }
      : {}),
    ...(metadata.grant_types_supported ? { grantTypesSupported: metadata.grant_types_supported } : {}),
    scope: challenge?.scope ?? prmScope ?? oauth.scope,
    metadata: doc,
  };
}

function preconfigured(server: McpServerConfig, challengeScope: string | undefined, deps: DiscoverDeps): DiscoveryResult {
  const oauth = server.oauth ?? {};
  const authorizationUrl = parseUrl(oauth.authorization_url!, 'authorization_url');
  parseUrl(oauth.token_url!, 'token_url');
  assertBrowserUrl(authorizationUrl.href, deps.allowedDomains);
  const issuer = authorizationUrl.origin;
  const methods = oauth.token_endpoint_auth_method ? [oauth.token_endpoint_auth_method] : undefined;
  // Synthesised RFC 8414 document so the SDK's token functions get the endpoints they need.
  const metadata: Record<string, unknown> = {
    issuer,
    authorization_endpoint: oauth.authorization_url,
    token_endpoint: oauth.token_url,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    ...(methods ? { token_endpoint_auth_methods_supported: methods } : {}),
  };
  return {
    resource: chooseResource(oauth.resource, undefined, new URL(server.url)),
    issuer,
    authorizationEndpoint: oauth.authorization_url!,
    tokenEndpoint: oauth.token_url!,
    issParameterSupported: false,
    clientIdMetadataDocumentSupported: false,
    ...(methods ? { tokenEndpointAuthMethodsSupported: methods } : {}),
    scope: challengeScope ?? oauth.scope,
    metadata,
  };
}

function chooseResource(configured: boolean | string | undefined, prmResource: string | undefined, serverUrl: URL): string | undefined {
  if (configured === false) return undefined;
  if (typeof configured === 'string') return configured;
  // Verbatim: `new URL(x).href` would add a trailing slash the AS may not match (SDK #1968).
  return prmResource ?? canonicalResourceUri(serverUrl);
}

/**
 * The authorization endpoint is opened by the user's browser, not fetched by us, so the guard
 * never sees it: allow only https, or http on an allowed loopback host, and no other scheme
 * (`javascript:`, `data:`, `file:`, ...).
 */
function assertBrowserUrl(value: string, allowedDomains: readonly string[]): void {
  const url = parseUrl(value, 'authorization endpoint');
  if (url.protocol === 'https:') return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
  if (url.protocol === 'http:' && loopback && isAllowedHost(url, allowedDomains)) return;
  throw new EngineError(ErrorCode.INSECURE_URL, `authorization endpoint ${quote(url.protocol + '//' + url.host)} is not https`, {
    details: { host: url.host, protocol: url.protocol },
  });
}

function parseUrl(value: string, what: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new EngineError(ErrorCode.DISCOVERY_FAILED, `${what} ${quote(value)} is not a URL`);
  }
}

function wrap(err: unknown, message: string, details: Record<string, unknown>): EngineError {
  if (isEngineError(err)) return err;
  return new EngineError(ErrorCode.DISCOVERY_FAILED, message, { cause: err, details });
}
