import type { FlowDeps } from '../flow/deps.js';
import type { StartedFlow } from '../flow/startFlow.js';
import { disconnectGrant, type DisconnectResult } from './disconnect.js';
import { createTokenService, type AccessTokenOptions } from './getAccessToken.js';
import { createMcpConnectionService, type ListedTool, type VerifyResult } from './mcpConnection.js';
import { createStepUpService, type StepUpInput, type StepUpOptions } from './stepUp.js';

export interface GrantOptions {
  tokens?: AccessTokenOptions;
  stepUp?: StepUpOptions;
}

/** The engine's post-flow API (see `Engine` in `src/engine.ts` for each method). */
export interface Grants {
  getAccessToken(userId: string, serverName: string): Promise<string>;
  disconnect(input: { userId: string; serverName: string; correlationId: string; reason?: string }): Promise<DisconnectResult>;
  verifyConnection(userId: string, serverName: string, correlationId?: string): Promise<VerifyResult>;
  listTools(userId: string, serverNames: string[]): Promise<Record<string, { tools: ListedTool[]; at: string } | null>>;
  callTool(input: { userId: string; serverName: string; name: string; arguments?: Record<string, unknown>; correlationId?: string }): Promise<unknown>;
  stepUp(input: StepUpInput): Promise<StartedFlow & { scope: string }>;
  /** This process recorded new tokens for the grant (a flow completed): drop the cached token. */
  tokensChanged(userId: string, serverName: string): void;
}

/** Wires the token service, disconnect, MCP connection and step-up over one `FlowDeps`. */
export function createGrants(deps: FlowDeps, options: GrantOptions = {}): Grants {
  const tokens = createTokenService(deps, options.tokens);
  let mcp: ReturnType<typeof createMcpConnectionService>;
  const stepUp = createStepUpService(deps, tokens.readGrant, (u, s) => mcp.readConnection(u, s), options.stepUp);
  mcp = createMcpConnectionService(deps, tokens, stepUp);
  return {
    getAccessToken: (userId, serverName) => tokens.getAccessToken(userId, serverName),
    async disconnect({ userId, serverName, correlationId, reason }) {
      tokens.invalidate(userId, serverName);
      try {
        return await disconnectGrant(deps, tokens.readGrant, { userId, serverName, ...(reason ? { reason } : {}) }, { now: deps.clock.now(), correlationId, actor: userId });
      } finally {
        tokens.invalidate(userId, serverName);
      }
    },
    verifyConnection: (userId, serverName, correlationId = 'verify') => mcp.verifyConnection(userId, serverName, correlationId),
    listTools: (userId, serverNames) => mcp.listTools(userId, serverNames),
    callTool: (input) => mcp.callTool(input.userId, input.serverName, input.name, input.arguments ?? {}, input.correlationId ?? 'call-tool'),
    stepUp: (input) => stepUp.stepUp(input),
    tokensChanged: (userId, serverName) => tokens.invalidate(userId, serverName),
  };
}
