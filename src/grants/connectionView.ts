import { ErrorCode } from '../errors.js';
import { readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import { grantStream } from '../flow/streams.js';
import { foldGrant, foldMcpConnection } from './fold.js';
import { mcpConnectionStream } from './streams.js';

/** What the grant and MCP-connection streams add to a connection status. */
export interface GrantConnectionView {
  hasGrant: boolean;
  /**
   * Set when the grant exists but does not work: `reauthorization_required` (final refresh
   * failure), `token_refresh_failed` (transient), `mcp_connection_failed` (the MCP server
   * refused or could not be reached at the last verification).
   */
  error?: string;
}

/** Reads the grant and `mcpconn` streams of (user, server) for `Queries.connectionStatus`. */
export async function grantConnectionView(deps: FlowDeps, userId: string, serverName: string): Promise<GrantConnectionView> {
  const grant = foldGrant(await readDomainEvents(deps.store, grantStream(userId, serverName)));
  if (grant.status === 'unusable') return { hasGrant: false, error: ErrorCode.REAUTHORIZATION_REQUIRED };
  if (grant.status !== 'active') return { hasGrant: false };
  if (grant.lastFailure?.retryable) return { hasGrant: true, error: 'token_refresh_failed' };
  const conn = foldMcpConnection(await readDomainEvents(deps.store, mcpConnectionStream(userId, serverName)));
  return conn.failure ? { hasGrant: true, error: 'mcp_connection_failed' } : { hasGrant: true };
}
