import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Clock } from '../../../src/clock.js';
import { createGuardedFetch, createOAuthDriver } from '../../../src/oauth/index.js';
import type { ClientIdentity, DiscoveryResult, McpServerConfig, OAuthDriver } from '../../../src/oauth/index.js';
import { startMcpServer, type McpServerHandle } from '../../support/mcpServer.js';
import { startOidcProvider, type OidcProviderHandle, type OidcProviderOptions } from '../../support/oidcProvider.js';
import { startSdkAuthServer, type SdkAuthServerHandle } from '../../support/sdkAuthServer.js';

/** Loopback peers are allowed explicitly, as ALLOWED_DOMAINS would in a dev setup. */
export const LOOPBACK = ['127.0.0.1', 'localhost'];

export const fixedClock = (ms = Date.UTC(2026, 0, 1)): Clock => ({ now: () => new Date(ms) });

/**
 * The driver under test with the real guarded fetch. Its deadline is raised from 10 s: on a
 * loaded machine, providers starting synchronously in concurrent tests of one worker can stall
 * the event loop long enough for a timer to fire before an answer that already arrived.
 * The 10 s default itself is covered by the guardedFetch tests.
 */
export function driverFor(clock: Clock = fixedClock()): OAuthDriver {
  return createOAuthDriver({ allowedDomains: LOOPBACK, clock, fetch: createGuardedFetch({ allowedDomains: LOOPBACK, timeoutMs: 60_000 }) });
}

export async function oidcPeers(
  options: Omit<OidcProviderOptions, 'mcpResource'> = {},
): Promise<{ mcp: McpServerHandle; as: OidcProviderHandle; server: McpServerConfig; stop(): Promise<void> }> {
  const mcp = await startMcpServer();
  const as = await startOidcProvider({ ...options, mcpResource: mcp.url });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: (t) => as.verifyAccessToken(t) });
  return { mcp, as, server: { url: mcp.url }, stop: async () => void (await Promise.all([mcp.stop(), as.stop()])) };
}

export async function sdkPeers(): Promise<{ mcp: McpServerHandle; as: SdkAuthServerHandle; server: McpServerConfig; stop(): Promise<void> }> {
  const mcp = await startMcpServer();
  const as = await startSdkAuthServer({ mcpResource: mcp.url });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: (t) => as.verifyAccessToken(t) });
  return { mcp, as, server: { url: mcp.url }, stop: async () => void (await Promise.all([mcp.stop(), as.stop()])) };
}

export const REDIRECT_URI = 'http://localhost:3080/api/mcp/test/oauth/callback';

/** DCR (or config client) for the test redirect URI, with the discovered scope. */
export function registerWith(driver: OAuthDriver, discovery: DiscoveryResult, server: McpServerConfig): Promise<ClientIdentity> {
  return driver.resolveClient({ discovery, redirectUri: REDIRECT_URI, clientName: 'flow engine', scope: discovery.scope, server });
}

/** Lists the MCP server's tools with the SDK client, sending the token as a bearer header. */
export async function listTools(url: string, accessToken: string): Promise<string[]> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${accessToken}` } } }));
  try {
    return (await client.listTools()).tools.map((t) => t.name).sort();
  } finally {
    await client.close();
  }
}
