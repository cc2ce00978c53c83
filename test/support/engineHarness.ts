import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock, type Random } from '../../src/clock.js';
import { createSealer } from '../../src/crypto/sealer.js';
import { createEngine, type CreateEngineOptions, type Engine } from '../../src/engine.js';
import type { StartedFlow } from '../../src/flow/startFlow.js';
import type { CallbackOutcome } from '../../src/flow/handleCallback.js';
import { redirectUriFor } from '../../src/flow/deps.js';
import { createOAuthDriver } from '../../src/oauth/index.js';
import type { McpServerConfig, OAuthDriver } from '../../src/oauth/types.js';
import { openDataKeyStore } from '../../src/store/dataKeys/index.js';
import { openEventStore } from '../../src/store/openEventStore.js';
import { openSqliteEventStore, type SqliteEventStore } from '../../src/store/sqlite/sqliteEventStore.js';
import type { WriterPlacement } from '../../src/store/sqlite/sqliteOptions.js';
import type { EventStore } from '../../src/store/types.js';
import { followAuthorization, type CallbackParams } from './browserless.js';
import { startMcpServer, type McpServerHandle } from './mcpServer.js';
import { startOidcProvider, type OidcProviderHandle, type OidcProviderOptions } from './oidcProvider.js';
import { startSdkAuthServer, type SdkAuthServerHandle } from './sdkAuthServer.js';

export const LOOPBACK = ['127.0.0.1', 'localhost'];

export interface Peers {
  mcp: McpServerHandle;
  as: OidcProviderHandle | SdkAuthServerHandle;
  kind: 'oidc' | 'sdk';
  tokenRequests(): number;
  registrations(): number;
  stop(): Promise<void>;
}

/** A real MCP server (SDK) behind a real authorization server (oidc-provider or the SDK's demo AS). */
export async function startPeers(kind: 'oidc' | 'sdk' = 'oidc', oidc: Omit<OidcProviderOptions, 'mcpResource'> = {}): Promise<Peers> {
  const mcp = await startMcpServer();
  const as = kind === 'oidc' ? await startOidcProvider({ ...oidc, mcpResource: mcp.url }) : await startSdkAuthServer({ mcpResource: mcp.url });
  mcp.setAuthServer({ issuer: as.issuer, verifyAccessToken: (t) => as.verifyAccessToken(t) });
  return {
    mcp,
    as,
    kind,
    tokenRequests: () => as.counts.token.authorization_code ?? 0,
    registrations: () => as.counts.registration,
    stop: async () => void (await Promise.all([mcp.stop(), as.stop()])),
  };
}

export interface EngineOptions {
  servers: Record<string, McpServerConfig>;
  store?: EventStore;
  dbPath?: string;
  /** Any `openEventStore` connection string (e.g. the EventStoreDB test server's); wins over dbPath. */
  eventStore?: string;
  publicUrl?: string;
  encryptionKey?: string;
  clock?: Clock;
  random?: Random;
  driver?: OAuthDriver;
  flowTtlMs?: number;
  /** Grant-side options (data-key store, refresh policy, step-up cap). */
  grantOptions?: Pick<CreateEngineOptions, 'dataKeys' | 'grants'>;
  /** The fetch MCP connections use (default: guarded, loopback allowed). */
  mcpFetch?: CreateEngineOptions['mcpFetch'];
}

export interface EngineHarness {
  engine: Engine;
  store: EventStore;
  dbPath: string | undefined;
  publicUrl: string;
  /** Starts (or joins) a flow and walks the authorization server's pages headlessly. */
  authorize(userId: string, serverName: string): Promise<{ started: StartedFlow; callback: CallbackParams }>;
  /** Delivers a callback the way the HTTP route does. */
  callback(serverName: string, params: CallbackParams, bindingSecret: string | undefined): Promise<CallbackOutcome>;
  /** authorize + callback. */
  connect(userId: string, serverName: string): Promise<CallbackOutcome>;
  close(): Promise<void>;
}

export const testKey = (): string => randomBytes(32).toString('base64');

export async function startEngine(options: EngineOptions): Promise<EngineHarness> {
  let tmp: string | undefined;
  let dbPath = options.dbPath;
  if (!options.store && !dbPath && !options.eventStore) {
    tmp = mkdtempSync(join(tmpdir(), 'flow-engine-'));
    dbPath = join(tmp, 'events.db');
  }
  const store = options.store ?? (await openEventStore(options.eventStore ?? `sqlite:${dbPath}`));
  const clock = options.clock ?? systemClock;
  const publicUrl = options.publicUrl ?? 'http://localhost:3080';
  const engine = createEngine({
    store,
    config: { publicUrl, flowTtlMs: options.flowTtlMs ?? 600_000, servers: options.servers, allowedDomains: LOOPBACK },
    driver: options.driver ?? createOAuthDriver({ allowedDomains: LOOPBACK, clock }),
    sealer: createSealer({ activeKey: options.encryptionKey ?? testKey() }),
    clock,
    ...(options.random ? { random: options.random } : {}),
    ...(options.mcpFetch ? { mcpFetch: options.mcpFetch } : {}),
    ...options.grantOptions,
  });
  const harness: EngineHarness = {
    engine,
    store,
    dbPath,
    publicUrl,
    async authorize(userId, serverName) {
      const started = await engine.startFlow({ userId, serverName, correlationId: `test-${userId}` });
      const callback = await followAuthorization(started.authorizationUrl, { redirectUri: redirectUriFor(publicUrl, serverName) });
      return { started, callback };
    },
    callback: (serverName, p, bindingSecret) =>
      engine.handleCallback({ serverName, state: p.state, code: p.code, error: p.error, errorDescription: p.errorDescription, iss: p.iss, bindingSecret, correlationId: 'cb' }),
    async connect(userId, serverName) {
      const { started, callback } = await harness.authorize(userId, serverName);
      return harness.callback(serverName, callback, started.bindingSecret);
    },
    async close() {
      if (!options.store) await store.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Every event of a stream category, in log order, as `{ stream, type, data }`. */
export async function eventsOf(store: EventStore, category?: string): Promise<Array<{ stream: string; type: string; data: Record<string, unknown> }>> {
  const out: Array<{ stream: string; type: string; data: Record<string, unknown> }> = [];
  for await (const e of store.readAll()) {
    if (!category || e.streamId.startsWith(`${category}-`)) out.push({ stream: e.streamId, type: e.type, data: e.data as Record<string, unknown> });
  }
  return out;
}

/**
 * An engine on a SQLite file composed as `flowctl serve` does (data keys on the event store's
 * connection and writer), against the SDK's demo authorization server; everything is stopped
 * and the file removed when the test ends.
 */
export async function startEngineOnFile(
  t: { teardown(fn: () => unknown): void },
  options: { writer?: WriterPlacement; wrapStore?: (store: EventStore) => EventStore } = {},
): Promise<{ h: EngineHarness; store: SqliteEventStore; path: string; peers: Peers }> {
  const peers = await startPeers('sdk');
  const dir = mkdtempSync(join(tmpdir(), 'engine-file-'));
  const path = join(dir, 'events.db');
  const store = openSqliteEventStore({ path, ...(options.writer ? { writer: options.writer } : {}) });
  const dataKeys = openDataKeyStore(`sqlite:${path}`, { eventStore: store });
  const engineStore = options.wrapStore?.(store) ?? store;
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, store: engineStore, grantOptions: { dataKeys } });
  t.teardown(async () => {
    dataKeys.close();
    await store.close();
    await peers.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { h, store, path, peers };
}
