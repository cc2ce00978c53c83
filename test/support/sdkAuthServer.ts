import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';

export interface SdkAuthServerOptions {
  /** MCP server URL; when set, the demo provider refuses codes issued for another resource. */
  mcpResource?: string;
  scopesSupported?: string[];
}

export interface SdkAuthServerCounts {
  registration: number;
  authorization: number;
  /** Token requests by `grant_type`. */
  token: Record<string, number>;
  discovery: number;
}

export interface SdkAuthServerHandle {
  /** The metadata `issuer` exactly as served (`http://127.0.0.1:<port>/`, with the slash the SDK adds). */
  issuer: string;
  port: number;
  counts: SdkAuthServerCounts;
  resetCounts(): void;
  tokenRequests(): number;
  /** The demo provider's own token check (opaque tokens), for the MCP server's bearer auth. */
  verifyAccessToken(token: string): Promise<AuthInfo>;
  provider: DemoInMemoryAuthProvider;
  stop(): Promise<void>;
}

/**
 * The SDK's `mcpAuthRouter` over `DemoInMemoryAuthProvider` on an Express app at 127.0.0.1
 * (random port), rate limits off. Auto-approves (no consent step), DCR and PKCE work; the demo
 * has no refresh, no revocation and no RFC 9207 `iss`: a second, independent AS for happy paths.
 */
export async function startSdkAuthServer(options: SdkAuthServerOptions = {}): Promise<SdkAuthServerHandle> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuerUrl = new URL(`http://127.0.0.1:${port}/`);

  const provider = new DemoInMemoryAuthProvider(
    options.mcpResource ? (resource) => resource !== undefined && resource.href.replace(/\/$/, '') === options.mcpResource!.replace(/\/$/, '') : undefined,
  );
  const counts: SdkAuthServerCounts = { registration: 0, authorization: 0, token: {}, discovery: 0 };

  const app = express();
  // Parsed here so the grant type can be counted; the token handler reuses the parsed body.
  app.use('/token', express.urlencoded({ extended: false }));
  app.use((req, _res, next) => {
    if (req.path === '/register' && req.method === 'POST') counts.registration++;
    else if (req.path === '/authorize') counts.authorization++;
    else if (req.path === '/token') {
      const grant = (req.body as Record<string, string> | undefined)?.grant_type ?? 'unknown';
      counts.token[grant] = (counts.token[grant] ?? 0) + 1;
    } else if (req.path.startsWith('/.well-known/')) counts.discovery++;
    next();
  });
  app.use(
    mcpAuthRouter({
      provider,
      issuerUrl,
      scopesSupported: options.scopesSupported ?? ['mcp:tools'],
      authorizationOptions: { rateLimit: false },
      tokenOptions: { rateLimit: false },
      clientRegistrationOptions: { rateLimit: false },
      revocationOptions: { rateLimit: false },
    }),
  );
  server.on('request', app);

  return {
    issuer: issuerUrl.href,
    port,
    counts,
    resetCounts() {
      Object.assign(counts, { registration: 0, authorization: 0, token: {}, discovery: 0 });
    },
    tokenRequests: () => Object.values(counts.token).reduce((a, b) => a + b, 0),
    verifyAccessToken: (token) => provider.verifyAccessToken(token),
    provider,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
