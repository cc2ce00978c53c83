import { userServerKey } from '../flow/streams.js';

export const MCPCONN_CATEGORY = 'mcpconn';

/** One per (user, MCP server): what the MCP server made of the grant (see `events.ts`). */
export const mcpConnectionStream = (userId: string, serverName: string): string => `${MCPCONN_CATEGORY}-${userServerKey(userId, serverName)}`;
