import { EngineError, ErrorCode, isEngineError, quote } from '../errors.js';
import { readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import type { McpConnectionEventData } from './events.js';
import { foldMcpConnection, type McpConnectionState } from './fold.js';
import { connectMcp, McpRequestError, MCP_TIMEOUT_MS, type HttpRefusal } from './mcpClient.js';
import type { StepUpService } from './stepUp.js';
import { mcpConnectionStream } from './streams.js';
import type { TokenService } from './getAccessToken.js';

/** A tool as recorded in `ToolsListed`: name and description only (no schemas). */
export type ListedTool = McpConnectionEventData<'ToolsListed'>['tools'][number];

/** The outcome of `verifyConnection`, as recorded. */
export type VerifyResult =
  | { ok: true; transport: 'streamable-http' | 'sse'; tools: ListedTool[] }
  | { ok: false; reason: string; status?: number };

export interface McpConnectionService {
  /**
   * Proves the MCP server accepts the grant: connects with the SDK client, lists tools, and
   * records `ToolsListed` or `McpConnectionFailed` on `mcpconn-<userKey>`. Never throws for
   * an unreachable or refusing server: the outcome is the answer.
   */
  verifyConnection(userId: string, serverName: string, correlationId: string): Promise<VerifyResult>;
  /** The tools last listed per server (from the events), for `GET /api/mcp/tools`. */
  listTools(userId: string, serverNames: string[]): Promise<Record<string, { tools: ListedTool[]; at: string } | null>>;
  /**
   * Calls a tool with the user's token. A 403 `insufficient_scope` starts a step-up attempt
   * and throws `REAUTHORIZATION_REQUIRED` whose details carry the new flow.
   */
  callTool(userId: string, serverName: string, name: string, args: Record<string, unknown>, correlationId: string): Promise<unknown>;
  readConnection(userId: string, serverName: string): Promise<McpConnectionState>;
}

const MAX_TOOLS = 1000;

/** The MCP side of a grant over one `FlowDeps`, its token service and step-up. */
export function createMcpConnectionService(deps: FlowDeps, tokens: TokenService, stepUp: StepUpService): McpConnectionService {
  const record = async (userId: string, serverName: string, type: string, data: unknown, correlationId: string): Promise<void> => {
    const ctx: CommandContext = { now: deps.clock.now(), correlationId, actor: userId };
    await deps.store.appendToStream(mcpConnectionStream(userId, serverName), newEvent(type, data, ctx), { expectedRevision: 'any' });
  };
  const server = async (userId: string, serverName: string) => {
    const s = await deps.resolveServer(serverName, userId);
    if (!s) throw new EngineError(ErrorCode.UNKNOWN_SERVER, `Unknown MCP server ${quote(serverName, 80)}`);
    return s;
  };
  const readConnection = async (userId: string, serverName: string) => foldMcpConnection(await readDomainEvents(deps.store, mcpConnectionStream(userId, serverName)));

  return {
    readConnection,
    async verifyConnection(userId, serverName, correlationId) {
      const failed = async (reason: string, status?: number): Promise<VerifyResult> => {
        await record(userId, serverName, 'McpConnectionFailed', { serverName, reason, ...(status !== undefined ? { status } : {}) }, correlationId);
        return { ok: false, reason, ...(status !== undefined ? { status } : {}) };
      };
      let token: string;
      try {
        token = await tokens.getAccessToken(userId, serverName);
      } catch (err) {
        return failed(isEngineError(err) ? err.code : 'token_unavailable');
      }
      let connected;
      try {
        connected = await connectMcp(await server(userId, serverName), token, deps.mcpFetch);
      } catch (err) {
        return failed(...reasonOf(err));
      }
      try {
        const listed = await connected.session.client.listTools(undefined, { timeout: MCP_TIMEOUT_MS });
        const tools = listed.tools.slice(0, MAX_TOOLS).map((t) => ({
          name: t.name.slice(0, 256),
          ...(t.description ? { description: t.description.slice(0, 2000) } : {}),
        }));
        await record(userId, serverName, 'ToolsListed', { serverName, transport: connected.session.transport, tools, at: deps.clock.now().toISOString() }, correlationId);
        return { ok: true, transport: connected.session.transport, tools };
      } catch (err) {
        return failed(...reasonOf(new McpRequestError(connected.refusal(), err)));
      } finally {
        await connected.session.close().catch(() => undefined);
      }
    },
    async listTools(userId, serverNames) {
      const out: Record<string, { tools: ListedTool[]; at: string } | null> = {};
      for (const name of serverNames) {
        const c = await readConnection(userId, name);
        out[name] = c.tools ? { tools: c.tools.tools, at: c.tools.at } : null;
      }
      return out;
    },
    async callTool(userId, serverName, name, args, correlationId) {
      const token = await tokens.getAccessToken(userId, serverName);
      const connected = await connectMcp(await server(userId, serverName), token, deps.mcpFetch).catch((err: unknown) => {
        throw mcpFailure(serverName, err);
      });
      let refusal: HttpRefusal | undefined;
      try {
        return await connected.session.client.callTool({ name, arguments: args }, undefined, { timeout: MCP_TIMEOUT_MS });
      } catch (err) {
        refusal = connected.refusal();
        // A refused token (revoked on another replica, say) must not stay cached here.
        if (refusal?.status === 401) tokens.invalidate(userId, serverName);
        if (refusal?.status !== 403 || refusal.error !== 'insufficient_scope') throw mcpFailure(serverName, new McpRequestError(refusal, err));
      } finally {
        await connected.session.close().catch(() => undefined);
      }
      const started = await stepUp.stepUp({ userId, serverName, challengedScope: refusal.scope ?? '', ...(refusal.resourceMetadataUrl ? { resourceMetadataUrl: refusal.resourceMetadataUrl } : {}), correlationId });
      throw new EngineError(ErrorCode.REAUTHORIZATION_REQUIRED, `More scope is needed for ${quote(serverName, 80)}`, {
        details: {
          serverName,
          reason: 'insufficient_scope',
          scope: started.scope,
          flowId: started.flowId,
          oauthUrl: started.authorizationUrl,
          bind: `/api/mcp/${encodeURIComponent(serverName)}/oauth/bind`,
        },
      });
    },
  };
}

function reasonOf(err: unknown): [string, number?] {
  if (err instanceof McpRequestError && err.refusal) {
    const r = err.refusal;
    const reason = r.status === 401 ? 'unauthorized' : r.status === 403 ? (r.error === 'insufficient_scope' ? 'insufficient_scope' : 'forbidden') : `http_${r.status}`;
    return [reason, r.status];
  }
  return ['unreachable'];
}

function mcpFailure(serverName: string, err: unknown): EngineError {
  const [reason, status] = reasonOf(err);
  return new EngineError('mcp_request_failed', `The MCP server ${quote(serverName, 80)} refused or failed the request (${reason})`, {
    details: { serverName, reason, ...(status !== undefined ? { status } : {}) },
  });
}
