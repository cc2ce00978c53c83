import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError, OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

/** The authorization server an MCP server trusts: its issuer and a token check. */
export interface AuthServerRef {
  /** Listed verbatim in the PRM `authorization_servers` (must equal the AS metadata `issuer`). */
  issuer: string;
  verifyAccessToken(token: string): Promise<AuthInfo>;
}

export interface McpServerOptions {
  /** Can also be set later with `setAuthServer` (the AS usually needs the MCP URL first). */
  authServer?: AuthServerRef;
  /** PRM `scopes_supported`. Default `['mcp:tools']`. */
  scopesSupported?: string[];
  /**
   * Where the RFC 9728 document is served: `path` = `/.well-known/oauth-protected-resource/mcp`
   * (default), `root` = `/.well-known/oauth-protected-resource`, `both`.
   */
  prmAt?: 'path' | 'root' | 'both';
  /** Override the PRM `resource` value (default: the MCP URL). */
  prmResource?: string;
  /** Scopes a tool call needs; without them the call is a 403 `insufficient_scope` (step-up). */
  toolScopes?: Record<string, string[]>;
}

export interface McpServerHandle {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  /** The PRM URL named in the 401 `WWW-Authenticate` `resource_metadata`. */
  resourceMetadataUrl: string;
  setAuthServer(ref: AuthServerRef): void;
  /** Requests that reached a tool handler (authorized MCP calls). */
  counts: { authorized: number; unauthorized: number };
  stop(): Promise<void>;
}

/**
 * An MCP server built with the SDK (`McpServer` + stateless `StreamableHTTPServerTransport`)
 * behind `requireBearerAuth`, on 127.0.0.1 (random port). Unauthenticated requests get 401 with
 * `WWW-Authenticate: Bearer ... resource_metadata="<PRM URL>"`; tokens must carry the MCP URL as
 * audience (`expectedResource`). Tools: `echo { text }` and `whoami` (client id and scopes).
 */
export async function startMcpServer(options: McpServerOptions = {}): Promise<McpServerHandle> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/mcp`;
  const prmAt = options.prmAt ?? 'path';
  const pathPrm = `/.well-known/oauth-protected-resource/mcp`;
  const rootPrm = `/.well-known/oauth-protected-resource`;
  const resourceMetadataUrl = `http://127.0.0.1:${port}${prmAt === 'root' ? rootPrm : pathPrm}`;
  let authServer = options.authServer;
  const counts = { authorized: 0, unauthorized: 0 };

  const app = express();
  const prm = (_req: express.Request, res: express.Response): void => {
    if (!authServer) {
      res.status(503).json({ error: 'no authorization server configured yet' });
      return;
    }
    res.json({
      resource: options.prmResource ?? url,
      authorization_servers: [authServer.issuer],
      scopes_supported: options.scopesSupported ?? ['mcp:tools'],
      bearer_methods_supported: ['header'],
    });
  };
  if (prmAt !== 'root') app.get(pathPrm, prm);
  if (prmAt !== 'path') app.get(rootPrm, prm);

  const bearer = requireBearerAuth({
    verifier: {
      async verifyAccessToken(token) {
        if (!authServer) throw new InvalidTokenError('no authorization server configured');
        try {
          return await authServer.verifyAccessToken(token);
        } catch (err) {
          // The demo provider throws plain Errors; anything unverifiable is an invalid token.
          throw err instanceof OAuthError ? err : new InvalidTokenError('token not accepted');
        }
      },
    },
    resourceMetadataUrl,
    expectedResource: new URL(url),
  });

  app.use('/mcp', (req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode === 401) counts.unauthorized++;
    });
    bearer(req, res, (err?: unknown) => {
      if (err) return next(err);
      counts.authorized++;
      next();
    });
  });
  app.post('/mcp', express.json(), async (req, res) => {
    const call = req.body as { method?: string; params?: { name?: string } } | undefined;
    const needed = call?.method === 'tools/call' ? options.toolScopes?.[call.params?.name ?? ''] : undefined;
    if (needed && !needed.every((s) => req.auth?.scopes.includes(s))) {
      // RFC 6750 §3.1: the challenge names the scope the request needs.
      res.status(403).set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${needed.join(' ')}", resource_metadata="${resourceMetadataUrl}"`).json({ error: 'insufficient_scope' });
      return;
    }
    const mcp = new McpServer({ name: 'test-mcp', version: '1.0.0' });
    mcp.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    mcp.registerTool('whoami', { description: 'Who the bearer token belongs to' }, async (extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ clientId: extra.authInfo?.clientId, scopes: extra.authInfo?.scopes }) }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless server: no standalone SSE stream and no sessions to delete.
  app.get('/mcp', (_req, res) => res.status(405).set('allow', 'POST').end());
  app.delete('/mcp', (_req, res) => res.status(405).set('allow', 'POST').end());
  server.on('request', app);

  return {
    url,
    resourceMetadataUrl,
    setAuthServer(ref) {
      authServer = ref;
    },
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
