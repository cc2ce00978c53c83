import { EngineError, ErrorCode, quote } from '../errors.js';
import { readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import type { FlowEventData } from '../flow/events.js';
import { flowStream } from '../flow/streams.js';
import { recordedClient } from '../flow/recordedClient.js';
import type { ClientIdentity, DiscoveryResult, McpServerConfig } from '../oauth/types.js';
import type { GrantState } from './fold.js';
import { openTokens, type StoredTokens } from './recordTokens.js';

/** What a token call for an existing grant needs: the AS, the client, the MCP server. */
export interface GrantClient {
  discovery: DiscoveryResult;
  client: ClientIdentity;
  server: McpServerConfig;
  /** The scope the flow asked for (step-up unions start from it). */
  requestedScope: string | undefined;
}

/**
 * The discovery and client identity recorded when the grant's flow started (its
 * `FlowInitiated`), so a refresh or revocation talks to the same AS with the same client that
 * obtained the grant (MCP 2026-07-28: credentials are bound to one AS), without rediscovery.
 */
export async function grantClient(deps: FlowDeps, flowId: string): Promise<GrantClient> {
  const stream = flowStream(flowId);
  const first = (await readDomainEvents(deps.store, stream))[0];
  if (!first || first.type !== 'FlowInitiated') {
    throw new EngineError(ErrorCode.REAUTHORIZATION_REQUIRED, `The flow ${quote(flowId)} behind this grant has no initiation`, { details: { flowId } });
  }
  const initiated = first.data as FlowEventData<'FlowInitiated'>;
  const { discovery, client } = recordedClient(deps.sealer, initiated);
  const server = (await deps.resolveServer(initiated.serverName, initiated.userId)) ?? { url: initiated.serverUrl };
  return { discovery, client, server, requestedScope: initiated.scope };
}

/**
 * The grant's opened token set with its AS and client, or null (logged) when either cannot be
 * read: a shredded data key, a missing flow. Callers treat null as "nothing usable left".
 */
export async function openGrant(deps: FlowDeps, state: GrantState, userId: string, serverName: string, purpose: string): Promise<{ tokens: StoredTokens; client: GrantClient } | null> {
  try {
    return { tokens: await openTokens(deps, state.tokens!, userId, serverName), client: await grantClient(deps, state.flowId!) };
  } catch (err) {
    deps.logger.warn({ serverName, purpose, err: err instanceof Error ? err.message : String(err) }, 'grant unreadable');
    return null;
  }
}
