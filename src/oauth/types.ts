/**
 * The authorization-server driver port: everything the engine needs from an OAuth 2.1
 * authorization server, as plain async functions over an SSRF-guarded fetch. Only
 * `src/oauth/` speaks HTTP to authorization servers; the flow core calls this interface.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
 */

/** Per-server OAuth options from the `MCP_SERVERS` file (every key optional). */
export interface ServerOAuthConfig {
  client_id?: string;
  client_secret?: string;
  client_metadata_url?: string;
  scope?: string;
  /** `true` (default): send RFC 8707 `resource`; `false`: never; a string: send that URI. */
  resource?: boolean | string;
  authorization_url?: string;
  token_url?: string;
  token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post';
}

export interface McpServerConfig {
  /** The MCP endpoint URL. */
  url: string;
  headers?: Record<string, string>;
  oauth?: ServerOAuthConfig;
}

/** What discovery learnt about an MCP server and its authorization server. */
export interface DiscoveryResult {
  /** RFC 8707 resource to send (undefined when opted out). Sent verbatim. */
  resource: string | undefined;
  /** The authorization server's validated `issuer` (RFC 8414 §3.3 equality checked). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  revocationEndpoint?: string;
  /** RFC 9207: the AS advertises `authorization_response_iss_parameter_supported`. */
  issParameterSupported: boolean;
  clientIdMetadataDocumentSupported: boolean;
  tokenEndpointAuthMethodsSupported?: string[];
  grantTypesSupported?: string[];
  /** Scope chosen by the spec's order: challenge, then PRM `scopes_supported`, then config. */
  scope: string | undefined;
  /** The raw AS metadata (no secrets in it), kept for registration and audit. */
  metadata: Record<string, unknown>;
}

/** A client identity usable at one authorization server. */
export interface ClientIdentity {
  clientId: string;
  clientSecret?: string;
  tokenEndpointAuthMethod: string;
  /** `preregistered` (config), `cimd` (Client ID Metadata Document) or `dcr` (RFC 7591). */
  kind: 'preregistered' | 'cimd' | 'dcr';
  redirectUris: string[];
  clientSecretExpiresAt?: number;
  /** Full registration response, secrets removed (for audit). */
  registrationResponse?: Record<string, unknown>;
  /**
   * The authorization server issuer this identity belongs to (MCP 2026-07-28: credentials are
   * bound to one AS). When set, token calls refuse a discovery with another issuer.
   */
  issuer?: string;
}

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Absolute expiry in epoch ms, computed from `expires_in` and the injected clock. */
  expiresAt?: number;
  scope?: string;
  idToken?: string;
}

export interface AuthorizationRequest {
  authorizationUrl: string;
  codeVerifier: string;
}

export interface DiscoverInput {
  serverName: string;
  server: McpServerConfig;
  /** Parsed `WWW-Authenticate` of the MCP server's 401, when the caller has it. */
  challenge?: { resourceMetadataUrl?: string; scope?: string };
}

export interface RegisterInput {
  discovery: DiscoveryResult;
  redirectUri: string;
  clientName: string;
  scope: string | undefined;
  server: McpServerConfig;
}

export interface StartAuthorizationInput {
  discovery: DiscoveryResult;
  client: ClientIdentity;
  redirectUri: string;
  state: string;
  scope: string | undefined;
}

export interface ExchangeInput {
  discovery: DiscoveryResult;
  client: ClientIdentity;
  code: string;
  codeVerifier: string;
  redirectUri: string;
  server: McpServerConfig;
}

export interface RefreshInput {
  discovery: DiscoveryResult;
  client: ClientIdentity;
  refreshToken: string;
  server: McpServerConfig;
  scope?: string;
}

export interface RevokeInput {
  discovery: DiscoveryResult;
  client: ClientIdentity;
  token: string;
  tokenTypeHint: 'access_token' | 'refresh_token';
  server: McpServerConfig;
}

/**
 * Errors from the driver are `EngineError`s. Token-endpoint failures carry
 * `details.oauthError` = the RFC 6749 §5.2 `error` code (e.g. `invalid_client`,
 * `invalid_grant`), classified from the structured response, never from a message.
 */
export interface OAuthDriver {
  discover(input: DiscoverInput): Promise<DiscoveryResult>;
  /**
   * Obtains a client identity: pre-registered (config `client_id`), else CIMD when the AS
   * advertises it and `client_metadata_url` is configured, else RFC 7591 DCR with
   * `application_type: "web"` (one HTTP call). The client registry (`src/clients`) calls this
   * only after winning the registration claim, so concurrent attempts make one DCR call.
   */
  resolveClient(input: RegisterInput): Promise<ClientIdentity>;
  /** Pure: builds the authorization URL with S256 PKCE, `state`, `resource`, `scope`. */
  startAuthorization(input: StartAuthorizationInput): Promise<AuthorizationRequest>;
  exchangeCode(input: ExchangeInput): Promise<TokenSet>;
  refresh(input: RefreshInput): Promise<TokenSet>;
  /** RFC 7009; resolves false when the AS advertises no revocation endpoint. */
  revoke(input: RevokeInput): Promise<boolean>;
}
