import { createPublicKey, generateKeyPair, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { silenceOidcProviderNotices } from './quietConsole.js';

/** What an interaction handler sees: oidc-provider's `interactionDetails` result. */
export interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  grantId?: string;
  session?: { accountId?: string };
}

/**
 * How the test AS treats the user's consent step:
 * - `auto`: log in as `accountId` and grant everything asked (oidc-provider docs' option B);
 * - `deny`: finish the interaction with `access_denied`;
 * - `dev`: oidc-provider's built-in login/consent forms (the browserless helper fills them);
 * - a function: return the `interactionFinished` result yourself (`{ error }` or
 *   `{ login, consent }`); `approve(details)` builds the auto-approve result.
 */
export type InteractionMode =
  | 'auto'
  | 'deny'
  | 'dev'
  | ((details: InteractionDetails, approve: (details: InteractionDetails) => Promise<object>) => Promise<object>);

export interface OidcProviderOptions {
  /** The MCP server URL: the only accepted RFC 8707 resource and the JWT `aud`. */
  mcpResource: string;
  /** Seconds. Default 300. */
  accessTokenTTL?: number;
  /** Rotate refresh tokens for every client (oidc-provider rotates public clients' anyway). Default true. */
  rotateRefreshTokens?: boolean;
  interactions?: InteractionMode;
  /** Resource scopes granted on the MCP resource. Default `['mcp:tools', 'mcp:write']`. */
  resourceScopes?: string[];
  /** Account the auto mode logs in. Default `alice`. */
  accountId?: string;
  /** `opaque` access tokens are stored by the AS, so introspection sees revocations. Default `jwt`. */
  accessTokenFormat?: 'jwt' | 'opaque';
  /** Pre-registered clients (oidc-provider client metadata). */
  clients?: Record<string, unknown>[];
  /** oidc-provider route overrides, e.g. `{ token: '/oauth2/v1/token' }` (endpoints not at their usual paths). */
  routes?: Record<string, string>;
}

/** Requests per endpoint since start (or the last `resetCounts()`), across restarts. */
export interface OidcProviderCounts {
  registration: number;
  authorization: number;
  /** Token requests by `grant_type` (`authorization_code`, `refresh_token`, ...). */
  token: Record<string, number>;
  revocation: number;
  discovery: number;
}

export interface OidcProviderHandle {
  /** `http://127.0.0.1:<port>` — exactly the metadata `issuer`. */
  issuer: string;
  port: number;
  counts: OidcProviderCounts;
  resetCounts(): void;
  /** Sum of token requests over all grant types. */
  tokenRequests(): number;
  /**
   * A new provider on the same port and issuer, with the same signing keys but empty storage:
   * DCR clients, grants and tokens are forgotten (the `invalid_client` scenario).
   */
  restart(): Promise<void>;
  /** Verifies a JWT access token against this AS's keys for use as an MCP server verifier. */
  verifyAccessToken(token: string): Promise<AuthInfo>;
  /** The live oidc-provider instance (for ad-hoc assertions). */
  provider(): unknown;
  stop(): Promise<void>;
}

let sharedKey: Promise<KeyObject> | undefined;
/**
 * One RSA signing key per process, generated off the event loop: a synchronous 2048-bit key
 * generation stalls every other request in the process for tens of milliseconds (seconds on a
 * loaded machine), which made concurrent tests time out.
 */
function signingKey(): Promise<KeyObject> {
  sharedKey ??= new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
  return sharedKey;
}

/**
 * Starts oidc-provider 9 on 127.0.0.1 (random port) configured as an MCP authorization server:
 * open DCR, PKCE required (S256), resource indicators with JWT access tokens whose `aud` is the
 * MCP URL, refresh tokens for clients allowed the `refresh_token` grant (rotating), RFC 7009
 * revocation, RFC 9207 `iss` in responses.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderHandle> {
  silenceOidcProviderNotices();
  // Imported after the console filter: the module prints a runtime notice when it loads.
  const { default: Provider, errors } = await import('oidc-provider');
  const { createMemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');

  const accountId = options.accountId ?? 'alice';
  const resourceScopes = options.resourceScopes ?? ['mcp:tools', 'mcp:write'];
  const ttl = options.accessTokenTTL ?? 300;
  const rotate = options.rotateRefreshTokens ?? true;
  const mode: InteractionMode = options.interactions ?? 'auto';

  const privateKey = await signingKey();
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };
  const publicJwk: JsonWebKey = { kty: signingJwk.kty, n: signingJwk.n, e: signingJwk.e };

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const counts: OidcProviderCounts = { registration: 0, authorization: 0, token: {}, revocation: 0, discovery: 0 };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const build = (): any => {
    const provider = new Provider(issuer, {
      adapter: createMemoryAdapter(),
      clients: options.clients ?? [],
      ...(options.routes ? { routes: options.routes } : {}),
      jwks: { keys: [signingJwk] },
      cookies: { keys: ['test-cookie-key-not-secret'] },
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      clientBasedCORS: () => false,
      // Resource scopes are listed too: DCR validates a client's `scope` against this list.
      scopes: ['openid', 'offline_access', ...resourceScopes],
      features: {
        devInteractions: { enabled: mode === 'dev' },
        registration: { enabled: true, initialAccessToken: false },
        revocation: { enabled: true },
        introspection: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf ?? options.mcpResource,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== options.mcpResource) throw new errors.InvalidTarget();
            return { scope: resourceScopes.join(' '), audience: resource, accessTokenFormat: options.accessTokenFormat ?? 'jwt', accessTokenTTL: ttl };
          },
        },
      },
      pkce: { required: () => true },
      // The default also demands `offline_access`; MCP clients ask for refresh via grant_types.
      issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: () => rotate,
      ttl: { AccessToken: ttl },
      ...(mode === 'dev' ? {} : { interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` } }),
    });
    const route = (name: string, fallback: string): string => options.routes?.[name] ?? fallback;
    provider.use(async (ctx: { path: string; method: string; oidc?: { params?: { grant_type?: string } } }, next: () => Promise<void>) => {
      await next();
      if (ctx.path === route('registration', '/reg') && ctx.method === 'POST') counts.registration++;
      else if (ctx.path === route('authorization', '/auth')) counts.authorization++;
      else if (ctx.path === route('token', '/token')) {
        const grant = ctx.oidc?.params?.grant_type ?? 'unknown';
        counts.token[grant] = (counts.token[grant] ?? 0) + 1;
      } else if (ctx.path === route('revocation', '/token/revocation')) counts.revocation++;
      else if (ctx.path.startsWith('/.well-known/')) counts.discovery++;
    });
    return provider;
  };

  let provider = build();

  const approve = async (details: InteractionDetails): Promise<object> => {
    const clientId = details.params.client_id as string;
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    const missingOIDCScope = details.prompt.details.missingOIDCScope as string[] | undefined;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    const missingClaims = details.prompt.details.missingOIDCClaims as string[] | undefined;
    if (missingClaims) grant.addOIDCClaims(missingClaims);
    const missingResourceScopes = details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId: string = await grant.save();
    return { login: { accountId: details.session?.accountId ?? accountId }, consent: { grantId } };
  };

  const interaction = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const details = (await provider.interactionDetails(req, res)) as InteractionDetails;
    let result: object;
    if (mode === 'deny') result = { error: 'access_denied', error_description: 'the test user said no' };
    else if (typeof mode === 'function') result = await mode(details, approve);
    else result = await approve(details);
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (mode !== 'dev' && req.method === 'GET' && req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    provider.callback()(req, res);
  });

  return {
    issuer,
    port,
    counts,
    resetCounts() {
      Object.assign(counts, { registration: 0, authorization: 0, token: {}, revocation: 0, discovery: 0 });
    },
    tokenRequests: () => Object.values(counts.token).reduce((a, b) => a + b, 0),
    async restart() {
      provider = build();
    },
    async verifyAccessToken(token) {
      return verifyJwtAccessToken(token, publicJwk, issuer);
    },
    provider: () => provider,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * RFC 9068 JWT access-token check with node:crypto (no extra dependency): RS256 signature over
 * the AS's key, `iss`, `exp`. The audience is reported as `resource` so `requireBearerAuth`'s
 * `expectedResource` compares it with the MCP URL.
 */
async function verifyJwtAccessToken(token: string, jwk: JsonWebKey, issuer: string): Promise<AuthInfo> {
  const { InvalidTokenError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
  const parts = token.split('.');
  if (parts.length !== 3) throw new InvalidTokenError('not a JWT');
  const [h, p, s] = parts as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'RS256') throw new InvalidTokenError('unexpected alg');
  const ok = verifySignature('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  if (!ok) throw new InvalidTokenError('bad signature');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as {
    iss?: string;
    exp?: number;
    aud?: string | string[];
    scope?: string;
    client_id?: string;
    sub?: string;
  };
  if (claims.iss !== issuer) throw new InvalidTokenError('wrong issuer');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw new InvalidTokenError('expired');
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  return {
    token,
    clientId: claims.client_id ?? '',
    scopes: claims.scope ? claims.scope.split(' ') : [],
    expiresAt: claims.exp,
    ...(aud ? { resource: new URL(aud) } : {}),
    extra: { sub: claims.sub },
  };
}
