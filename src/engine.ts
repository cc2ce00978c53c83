import { systemClock, systemRandom, type Clock, type Random } from './clock.js';
import type { EngineConfig } from './config.js';
import { EngineError, ErrorCode } from './errors.js';
import { cancelFlow, type CancelResult } from './flow/cancelFlow.js';
import { silentLogger, type FlowDeps, type FlowObserver, type Logger, type Sealer } from './flow/deps.js';
import { handleCallback, type CallbackInput, type CallbackOutcome } from './flow/handleCallback.js';
import { streamQueries, type ConnectionStatusView, type Queries } from './flow/queries.js';
import { join, readAttempt, startFlow, readConnection, type StartFlowInput, type StartedFlow } from './flow/startFlow.js';
import type { FlowStatusView } from './flow/status.js';
import { RecentFlows } from './flow/recentFlows.js';
import { createGuardedFetch } from './oauth/guardedFetch.js';
import type { McpServerConfig, OAuthDriver } from './oauth/types.js';
import { createMemoryDataKeyStore, type DataKeyStore } from './crypto/dataKeys.js';
import { createDataKeySealer } from './crypto/dataKeySealer.js';
import { createGrants, type GrantOptions, type Grants } from './grants/grants.js';
import type { EventStore } from './store/types.js';

export interface CreateEngineOptions {
  store: EventStore;
  config: Pick<EngineConfig, 'publicUrl' | 'flowTtlMs' | 'servers'> & Partial<EngineConfig>;
  driver: OAuthDriver;
  sealer: Sealer;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /**
   * Flow counters (`createMetrics().observer`). Servers other than `config.servers` are
   * reported as {@link USER_MANAGED_LABEL}: any signed-in user names those, and `/metrics` is
   * public, so their names would leak and each would add series without bound.
   */
  observer?: FlowObserver;
  /** Host hook for user-managed servers; configured servers are found without it. */
  resolveServer?: (serverName: string, userId?: string) => Promise<McpServerConfig | undefined>;
  /** Host hook listing the servers a user may see; defaults to the configured ones. */
  listServers?: (userId?: string) => Promise<string[]>;
  /** Read side; defaults to answering from streams. */
  queries?: (deps: FlowDeps) => Queries;
  clientName?: string;
  /**
   * Where per-grant data keys live (`openDataKeyStore(EVENT_STORE)` from `src/store/dataKeys`).
   * Defaults to memory: fine for tests and `sqlite::memory:`, but then grants do not survive a
   * restart and other processes cannot open them.
   */
  dataKeys?: DataKeyStore;
  /** Refresh skew, cache validation, refresh claim and retry policy, step-up cap. */
  grants?: GrantOptions;
  /** Fetch for MCP connections; defaults to the SSRF-guarded fetch in streaming mode over `config.allowedDomains`. */
  mcpFetch?: FlowDeps['mcpFetch'];
}

/**
 * The engine as a library: commands (start, bind, callback, cancel) and queries (flow and
 * connection status). The HTTP layer is a thin adapter over this.
 */
export interface Engine {
  readonly deps: FlowDeps;
  readonly queries: Queries;
  startFlow(input: StartFlowInput): Promise<StartedFlow>;
  /**
   * What `POST /reinitialize` does: connected when the user holds a usable grant (refreshed if
   * need be), otherwise a started or joined attempt. Errors other than "authorize again" (an
   * unreachable AS during a refresh) are thrown.
   */
  reinitialize(input: StartFlowInput): Promise<{ connected: true } | { connected: false; flow: StartedFlow }>;
  /** A new browser binding for the user's pending attempt, or null when none is pending. */
  bindBrowser(input: { userId: string; serverName: string; correlationId: string }): Promise<{ flowId: string; bindingSecret: string } | null>;
  handleCallback(input: CallbackInput): Promise<CallbackOutcome>;
  cancelFlow(input: { userId: string; serverName: string; correlationId: string }): Promise<CancelResult>;
  /** The flow's status; null when unknown or (with `userId`) owned by someone else. */
  getFlowStatus(flowId: string, userId?: string): Promise<FlowStatusView | null>;
  getConnectionStatus(userId: string, serverName: string): Promise<ConnectionStatusView>;
  listServers(userId?: string): Promise<string[]>;
  hasServer(serverName: string, userId?: string): Promise<boolean>;
  /**
   * A valid access token, refreshed ahead of expiry (single flight across replicas), or
   * `REAUTHORIZATION_REQUIRED` with `details: { serverName, reinitialize }`.
   */
  getAccessToken: Grants['getAccessToken'];
  /** RFC 7009 revocation at the AS, `GrantRevoked`, the grant's data keys shredded. */
  disconnect: Grants['disconnect'];
  /** Connects to the MCP server with the grant, lists tools, records the outcome. */
  verifyConnection: Grants['verifyConnection'];
  /** Tools last listed per server. */
  listTools: Grants['listTools'];
  /** Calls a tool; a 403 `insufficient_scope` starts a step-up attempt. */
  callTool: Grants['callTool'];
  /** Starts a step-up attempt for the union of granted and challenged scopes (capped). */
  stepUp: Grants['stepUp'];
}

export function createEngine(options: CreateEngineOptions): Engine {
  const { config } = options;
  const deps: FlowDeps = {
    store: options.store,
    driver: options.driver,
    sealer: options.sealer,
    grantSealer: createDataKeySealer(options.sealer, options.dataKeys ?? createMemoryDataKeyStore()),
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    logger: options.logger ?? silentLogger,
    observer: configuredServersOnly(options.observer ?? {}, config.servers),
    resolveServer: async (name, userId) =>
      (Object.hasOwn(config.servers, name) ? config.servers[name] : undefined) ?? (await options.resolveServer?.(name, userId)),
    publicUrl: config.publicUrl,
    flowTtlMs: config.flowTtlMs,
    clientName: options.clientName ?? 'Flow Engine MCP Client',
    mcpFetch: options.mcpFetch ?? createGuardedFetch({ allowedDomains: config.allowedDomains ?? [], stream: true }),
    recentFlows: new RecentFlows(),
  };
  const queries = (options.queries ?? streamQueries)(deps);
  const listServers = options.listServers ?? (async () => Object.keys(config.servers));
  const grants = createGrants(deps, options.grants);
  return {
    deps,
    queries,
    startFlow: (input) => startFlow(deps, input),
    async reinitialize(input) {
      const connection = await readConnection(deps, input.userId, input.serverName);
      // Tokens are only ever recorded by the callback of an attempt that this stream names
      // (the claim is written with, or on EventStoreDB before, the flow), so a (user, server)
      // without a connection stream has no grant, and its grant stream need not be read.
      if (connection.revision !== null && (await hasUsableGrant(grants, input.userId, input.serverName))) return { connected: true };
      if (!connection.current) return { connected: false, flow: await startFlow(deps, { ...input, connection }) };
      const previous = await readAttempt(deps, connection.current.flowId, !input.forceNew);
      // A callback completed this attempt since the grant was read (it was exchanging the code,
      // or its completion landed in between): the user is connected now.
      if (previous.value === 'completed' && (await hasUsableGrant(grants, input.userId, input.serverName))) return { connected: true };
      return { connected: false, flow: await startFlow(deps, { ...input, connection, previous }) };
    },
    async bindBrowser({ userId, serverName, correlationId }) {
      const conn = await readConnection(deps, userId, serverName);
      if (!conn.current) return null;
      const secret = await join(deps, conn.current.flowId, { now: deps.clock.now(), correlationId, actor: userId });
      return secret ? { flowId: conn.current.flowId, bindingSecret: secret } : null;
    },
    async handleCallback(input) {
      const outcome = await handleCallback(deps, input);
      // A completed flow (a step-up, a re-authorization) replaces the grant's tokens: callers in
      // this process must not get the previous access token from the cache.
      if (outcome.ok) grants.tokensChanged(outcome.userId, outcome.serverName);
      return outcome;
    },
    cancelFlow: (input) => cancelFlow(deps, input),
    async getFlowStatus(flowId, userId) {
      const view = await queries.flowStatus(flowId);
      if (!view || (userId !== undefined && view.userId !== userId)) return null;
      return view;
    },
    getConnectionStatus: (userId, serverName) => queries.connectionStatus(userId, serverName),
    listServers,
    async hasServer(serverName, userId) {
      return (await deps.resolveServer(serverName, userId)) !== undefined;
    },
    getAccessToken: grants.getAccessToken,
    disconnect: grants.disconnect,
    verifyConnection: grants.verifyConnection,
    listTools: grants.listTools,
    callTool: grants.callTool,
    stepUp: grants.stepUp,
  };
}

/**
 * The server name flow counters carry for every server that is not in `config.servers`:
 * outside the server-name syntax (names start with a letter or digit), so no server shares it.
 */
export const USER_MANAGED_LABEL = '(user-managed)';

function configuredServersOnly(observer: FlowObserver, servers: EngineConfig['servers']): FlowObserver {
  const label = (serverName: string) => (Object.hasOwn(servers, serverName) ? serverName : USER_MANAGED_LABEL);
  return {
    flowStarted: (serverName) => observer.flowStarted?.(label(serverName)),
    flowCompleted: (serverName) => observer.flowCompleted?.(label(serverName)),
    flowFailed: (serverName, reason) => observer.flowFailed?.(label(serverName), reason),
    ...(observer.appendLatency ? { appendLatency: (seconds: number) => observer.appendLatency?.(seconds) } : {}),
  };
}

/** A usable grant exists (refreshed if need be); false when only a new authorization helps. */
async function hasUsableGrant(grants: Grants, userId: string, serverName: string): Promise<boolean> {
  try {
    await grants.getAccessToken(userId, serverName);
    return true;
  } catch (err) {
    if (err instanceof EngineError && err.code === ErrorCode.REAUTHORIZATION_REQUIRED) return false;
    throw err;
  }
}
