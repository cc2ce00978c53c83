import type { Clock } from '../../../src/clock.js';
import { createOAuthDriver } from '../../../src/oauth/index.js';
import type { McpServerConfig, OAuthDriver } from '../../../src/oauth/index.js';
import { startMcpServer, type McpServerHandle } from '../../support/mcpServer.js';
import { startOidcProvider, type OidcProviderHandle, type OidcProviderOptions } from '../../support/oidcProvider.js';
import { startSdkAuthServer, type SdkAuthServerHandle } from '../../support/sdkAuthServer.js';

/** Loopback peers are allowed explicitly, as ALLOWED_DOMAINS would in a dev setup. */
export const LOOPBACK = ['127.0.0.1', 'localhost'];

export const fixedClock = (ms = Date.UTC(2026, 0, 1)): Clock => ({ now: () => new Date(ms) });

export function driverFor(clock: Clock = fixedClock()): OAuthDriver {
  return createOAuthDriver({ allowedDomains: LOOPBACK, clock });
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
