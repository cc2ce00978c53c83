import { exchangeAuthorization, refreshAuthorization, startAuthorization as sdkStartAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AddClientAuthentication } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Clock } from '../clock.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import type { FetchLike } from './guardedFetch.js';
import { observingFetch, toEngineError } from './oauthErrors.js';
import type {
  AuthorizationRequest,
  ClientIdentity,
  DiscoveryResult,
  ExchangeInput,
  RefreshInput,
  RevokeInput,
  StartAuthorizationInput,
  TokenSet,
} from './types.js';

export interface TokenDeps {
  fetch: FetchLike;
  clock: Clock;
}

/**
 * Builds the authorization URL (OAuth 2.1 §4.1.1) with S256 PKCE, `state`, `scope` and the
 * RFC 8707 `resource`, through the SDK's `startAuthorization`. No network.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636
 */
export async function startAuthorization(input: StartAuthorizationInput): Promise<AuthorizationRequest> {
  const { discovery, client } = input;
  assertBoundTo(client, discovery);
  try {
    const { authorizationUrl, codeVerifier } = await sdkStartAuthorization(discovery.issuer, {
      metadata: metadataOf(discovery),
      clientInformation: { client_id: client.clientId, redirect_uris: client.redirectUris },
      redirectUrl: input.redirectUri,
      state: input.state,
      ...(input.scope ? { scope: input.scope } : {}),
      ...(discovery.resource !== undefined ? { resource: discovery.resource } : {}),
    });
    return { authorizationUrl: authorizationUrl.href, codeVerifier };
  } catch (err) {
    throw new EngineError(ErrorCode.DISCOVERY_FAILED, `cannot build an authorization request for ${quote(discovery.issuer)}`, {
      cause: err,
      details: { issuer: discovery.issuer },
    });
  }
}

/**
 * Redeems an authorization code (OAuth 2.1 §4.1.3) with the PKCE verifier and the RFC 8707
 * `resource`. Failures are `TOKEN_REQUEST_FAILED` with `details.oauthError` and `details.status`.
 */
export async function exchangeCode(input: ExchangeInput, deps: TokenDeps): Promise<TokenSet> {
  const { discovery, client } = input;
  assertBoundTo(client, discovery);
  const observed = observingFetch(deps.fetch);
  let tokens: OAuthTokens;
  try {
    tokens = await exchangeAuthorization(discovery.issuer, {
      metadata: metadataOf(discovery),
      clientInformation: { client_id: client.clientId },
      authorizationCode: input.code,
      codeVerifier: input.codeVerifier,
      redirectUri: input.redirectUri,
      ...(discovery.resource !== undefined ? { resource: discovery.resource } : {}),
      addClientAuthentication: clientAuthentication(client),
      fetchFn: observed.fetch,
    });
  } catch (err) {
    throw toEngineError(ErrorCode.TOKEN_REQUEST_FAILED, `code exchange at ${quote(discovery.issuer)}`, err, observed.lastFailure(), {
      issuer: discovery.issuer,
      grantType: 'authorization_code',
    });
  }
  return toTokenSet(tokens, deps.clock);
}

/**
 * Refresh-token grant (OAuth 2.1 §4.3) with `resource` (unless opted out) and an optional
 * narrower `scope`. A response without a new refresh token keeps the old one (the SDK does
 * that); rotation is the AS's choice and the caller must persist the returned one.
 */
export async function refresh(input: RefreshInput, deps: TokenDeps): Promise<TokenSet> {
  const { discovery, client } = input;
  assertBoundTo(client, discovery);
  const observed = observingFetch(deps.fetch);
  let tokens: OAuthTokens;
  try {
    tokens = await refreshAuthorization(discovery.issuer, {
      metadata: metadataOf(discovery),
      clientInformation: { client_id: client.clientId },
      refreshToken: input.refreshToken,
      ...(discovery.resource !== undefined ? { resource: discovery.resource } : {}),
      addClientAuthentication: clientAuthentication(client, input.scope),
      fetchFn: observed.fetch,
    });
  } catch (err) {
    throw toEngineError(ErrorCode.TOKEN_REQUEST_FAILED, `token refresh at ${quote(discovery.issuer)}`, err, observed.lastFailure(), {
      issuer: discovery.issuer,
      grantType: 'refresh_token',
    });
  }
  return toTokenSet(tokens, deps.clock);
}

/**
 * RFC 7009 token revocation (the SDK has no client for it). Resolves `false` when the AS
 * advertises no `revocation_endpoint`, `true` on 200 (which RFC 7009 §2.2 also returns for
 * an already-invalid token). Errors are `TOKEN_REQUEST_FAILED` with `details.oauthError`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revoke(input: RevokeInput, deps: TokenDeps): Promise<boolean> {
  const { discovery, client } = input;
  if (!discovery.revocationEndpoint) return false;
  assertBoundTo(client, discovery);
  const observed = observingFetch(deps.fetch);
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
  const params = new URLSearchParams({ token: input.token, token_type_hint: input.tokenTypeHint });
  applyClientAuthentication(client, headers, params);
  let res: Response;
  try {
    res = await observed.fetch(discovery.revocationEndpoint, { method: 'POST', headers, body: params, redirect: 'manual' });
  } catch (err) {
    throw toEngineError(ErrorCode.TOKEN_REQUEST_FAILED, `revocation at ${quote(discovery.issuer)}`, err, undefined, {
      issuer: discovery.issuer,
    });
  }
  await res.body?.cancel();
  if (res.ok) return true;
  const failure = observed.lastFailure() ?? { status: res.status };
  throw new EngineError(
    ErrorCode.TOKEN_REQUEST_FAILED,
    `revocation at ${quote(discovery.issuer)} failed: ${failure.oauthError ? quote(failure.oauthError) : `HTTP ${failure.status}`}`,
    {
      details: {
        issuer: discovery.issuer,
        status: failure.status,
        ...(failure.oauthError ? { oauthError: failure.oauthError } : { reason: 'unstructured_error_response' }),
        ...(failure.errorDescription ? { errorDescription: failure.errorDescription } : {}),
      },
    },
  );
}

/**
 * The RFC 8414 document for the SDK's token calls, derived from the validated structured
 * fields (which every recorded discovery snapshot carries) over the raw document, so a token
 * call built from an event replay uses the real endpoints, never the SDK's `<issuer>/token` guess.
 */
function metadataOf(discovery: DiscoveryResult): AuthorizationServerMetadata {
  const raw = discovery.metadata as Partial<AuthorizationServerMetadata>;
  return {
    ...raw,
    issuer: discovery.issuer,
    authorization_endpoint: discovery.authorizationEndpoint,
    token_endpoint: discovery.tokenEndpoint,
    response_types_supported: raw.response_types_supported ?? ['code'],
    code_challenge_methods_supported: raw.code_challenge_methods_supported ?? ['S256'],
    ...(discovery.registrationEndpoint ? { registration_endpoint: discovery.registrationEndpoint } : {}),
    ...(discovery.revocationEndpoint ? { revocation_endpoint: discovery.revocationEndpoint } : {}),
    ...(discovery.tokenEndpointAuthMethodsSupported ? { token_endpoint_auth_methods_supported: discovery.tokenEndpointAuthMethodsSupported } : {}),
    ...(discovery.grantTypesSupported ? { grant_types_supported: discovery.grantTypesSupported } : {}),
  } as AuthorizationServerMetadata;
}

/**
 * Applies exactly the method the identity was registered with, instead of letting the SDK
 * guess from metadata; adds a refresh `scope` when one is asked for.
 */
function clientAuthentication(client: ClientIdentity, scope?: string): AddClientAuthentication {
  return (headers, params) => {
    if (scope) params.set('scope', scope);
    applyClientAuthentication(client, headers, params);
  };
}

/** RFC 6749 §2.3.1 client authentication (Basic credentials are form-encoded first). */
function applyClientAuthentication(client: ClientIdentity, headers: Headers, params: URLSearchParams): void {
  const method = client.clientSecret === undefined ? 'none' : client.tokenEndpointAuthMethod;
  if (method === 'client_secret_basic') {
    const user = formEncode(client.clientId);
    const pass = formEncode(client.clientSecret!);
    headers.set('authorization', `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`);
    return;
  }
  params.set('client_id', client.clientId);
  if (method === 'client_secret_post') params.set('client_secret', client.clientSecret!);
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** Refuses to send one AS's credentials to another (MCP 2026-07-28 credential binding). */
function assertBoundTo(client: ClientIdentity, discovery: DiscoveryResult): void {
  if (client.issuer !== undefined && client.issuer !== discovery.issuer) {
    throw new EngineError(ErrorCode.ISSUER_MISMATCH, `client is bound to ${quote(client.issuer)}, not ${quote(discovery.issuer)}`, {
      details: { expectedIssuer: client.issuer, received: discovery.issuer },
    });
  }
}

function toTokenSet(tokens: OAuthTokens, clock: Clock): TokenSet {
  return {
    accessToken: tokens.access_token,
    tokenType: tokens.token_type,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    ...(tokens.expires_in !== undefined ? { expiresAt: clock.now().getTime() + tokens.expires_in * 1000 } : {}),
    ...(tokens.scope ? { scope: tokens.scope } : {}),
    ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
  };
}
