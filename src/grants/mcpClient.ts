import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpServerConfig } from '../oauth/types.js';

/** What the MCP server answered last with an error status (RFC 6750 §3 challenge parsed). */
export interface HttpRefusal {
  status: number;
  error?: string;
  scope?: string;
  resourceMetadataUrl?: string;
}

/** An open SDK client session with the transport that worked. */
export interface McpSession {
  client: Client;
  transport: 'streamable-http' | 'sse';
  close(): Promise<void>;
}

/** An MCP request that failed, with the HTTP refusal seen on the way (if any). */
export class McpRequestError extends Error {
  constructor(readonly refusal: HttpRefusal | undefined, cause: unknown) {
    super(`MCP request failed${refusal ? ` (HTTP ${refusal.status}${refusal.error ? ` ${refusal.error}` : ''})` : ''}`, { cause });
    this.name = 'McpRequestError';
  }
}

const TIMEOUT_MS = 10_000;

/**
 * Connects to an MCP server with the SDK client and a bearer token (only in the
 * `Authorization` header, as the MCP authorization spec requires): Streamable HTTP first, the
 * legacy HTTP+SSE transport when the server does not speak it. Auth refusals (401/403) are not
 * retried over SSE: they are answers, not transport mismatches. Every error status is kept
 * with its `WWW-Authenticate` challenge so callers can tell `insufficient_scope` apart.
 */
export async function connectMcp(server: McpServerConfig, accessToken: string, fetchFn: (input: string | URL | Request, init?: RequestInit) => Promise<Response>): Promise<{ session: McpSession; refusal: () => HttpRefusal | undefined }> {
  let refusal: HttpRefusal | undefined;
  const observing = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetchFn(input, init);
    if (res.status >= 400) {
      const challenge = res.status === 401 || res.status === 403 ? extractWWWAuthenticateParams(res) : {};
      refusal = {
        status: res.status,
        ...(challenge.error ? { error: challenge.error } : {}),
        ...(challenge.scope ? { scope: challenge.scope } : {}),
        ...(challenge.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl.href } : {}),
      };
    }
    return res;
  };
  const headers = { ...server.headers, Authorization: `Bearer ${accessToken}` };
  const url = new URL(server.url);
  const open = async (kind: McpSession['transport']): Promise<McpSession> => {
    const client = new Client({ name: 'flow-engine', version: '0.1.0' });
    const transport = kind === 'streamable-http'
      ? new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: observing })
      : new SSEClientTransport(url, { requestInit: { headers }, eventSourceInit: { fetch: (u, i) => observing(u, { ...i, headers: { ...(i?.headers as Record<string, string>), ...headers } }) }, fetch: observing });
    try {
      await client.connect(transport, { timeout: TIMEOUT_MS });
    } catch (err) {
      // A failed transport must be closed: the SSE one's EventSource would otherwise retry
      // every few seconds forever, keeping the process (and the remote server) busy.
      await transport.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      throw err;
    }
    return { client, transport: kind, close: () => client.close() };
  };
  try {
    return { session: await open('streamable-http'), refusal: () => refusal };
  } catch (err) {
    const first = refusal;
    if (first && (first.status === 401 || first.status === 403)) throw new McpRequestError(first, err);
    refusal = undefined;
    try {
      return { session: await open('sse'), refusal: () => refusal };
    } catch (sseErr) {
      throw new McpRequestError(first ?? refusal, sseErr);
    }
  }
}

/** Per-request timeout of the engine's MCP calls (connect, list, call). */
export const MCP_TIMEOUT_MS = TIMEOUT_MS;
