import type { McpServerConfig } from '../oauth/types.js';
import { startMcpServer } from './mcpServer.js';
import { startOidcProvider } from './oidcProvider.js';

/** The servers demo mode configures, and how to stop them. */
export interface DemoPeers {
  servers: Record<string, McpServerConfig>;
  /** Hosts the SSRF guard must let through: the peers listen on loopback. */
  allowedDomains: string[];
  issuer: string;
  stop(): Promise<void>;
}

/**
 * Demo mode's peers, on 127.0.0.1 with random ports: an MCP server built with the SDK behind
 * bearer auth, and oidc-provider as its authorization server with oidc-provider's own
 * development login and consent pages (any user name and password), open dynamic client
 * registration and PKCE. The same peers the integration tests run against.
 */
export async function startDemoPeers(serverName = 'demo'): Promise<DemoPeers> {
  const mcp = await startMcpServer();
  const as = await startOidcProvider({ mcpResource: mcp.url, interactions: 'dev' }).catch(async (err: unknown) => {
    await mcp.stop();
    throw err;
  });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: (t) => as.verifyAccessToken(t) });
  return {
    servers: { [serverName]: { url: mcp.url } },
    allowedDomains: ['127.0.0.1', 'localhost'],
    issuer: as.issuer,
    stop: async () => void (await Promise.all([mcp.stop(), as.stop()])),
  };
}
