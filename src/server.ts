import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { getFlowHistory } from './audit/flowHistory.js';
import { systemClock } from './clock.js';
import { loadConfig, type EngineConfig } from './config.js';
import { loadOrCreateDevKey } from './crypto/devKey.js';
import { createSealer } from './crypto/sealer.js';
import { startDemoPeers, type DemoPeers } from './demo/demoPeers.js';
import { createEngine, type Engine } from './engine.js';
import { EngineError, ErrorCode } from './errors.js';
import { jwtAuthenticator, requireAdmin } from './http/authenticate.js';
import { createApp } from './http/createApp.js';
import { createDashboardRouter } from './http/dashboard/index.js';
import { demoAuthenticator, demoPage, mintDemoToken } from './http/demoPage.js';
import { createLogger } from './http/logger.js';
import { createMetrics, instrumentStore } from './http/metrics.js';
import { createOAuthDriver } from './oauth/driver.js';
import type { OAuthDriver } from './oauth/types.js';
import { projectionQueries, startExpiryWorker, startServeProjector, startStaleClientWorker } from './projector/index.js';
import { openDataKeyStore } from './store/dataKeys/index.js';
import { openEventStore } from './store/openEventStore.js';
import { openProjectionState } from './store/projectionState/index.js';
import { createServerRegistry } from './registry/index.js';
import type { EventStore } from './store/types.js';

export interface RunningServer {
  /** The public URL, e.g. `http://localhost:3080`. */
  url: string;
  port: number;
  engine: Engine;
  store: EventStore;
  config: EngineConfig;
  /** Set in demo mode: the demo user and where its API token was written. */
  demo?: { userId: string; tokenFile: string; issuer: string };
  /** Waits for work requests started in the background (connection verification after a callback). */
  drain(): Promise<void>;
  /** Stops accepting requests, lets in-flight work finish, then closes workers, projector and stores. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: PinoLogger;
  /** Replaces the authorization-server driver (benchmarks use an instant in-process one). */
  driver?: OAuthDriver;
  /** Verify the MCP connection after each completed callback (default true). */
  verifyConnections?: boolean;
}

export const DEMO_USER = 'demo-user';

/**
 * The composition root of `flowctl serve`: configuration → event store → key ring → OAuth
 * driver → projector → engine → Koa app → listening socket. When `MCP_SERVERS` is unset it
 * runs demo mode: local authorization and MCP servers on loopback, a development JWT secret
 * and a demo page.
 *
 * The socket is bound first so that `PORT=0` (tests) still yields a correct default
 * `PUBLIC_URL`, from which every redirect URI is derived; until the app is ready it answers
 * 503.
 */
export async function startServer(env: NodeJS.ProcessEnv = process.env, options: StartServerOptions = {}): Promise<RunningServer> {
  const loaded = loadConfig(env);
  const logger = options.logger ?? createLogger({ level: loaded.logLevel });
  const demoMode = loaded.mcpServersPath === undefined;
  if (!demoMode && !loaded.jwtSecret) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, 'JWT_SECRET: required when MCP_SERVERS is set (only demo mode generates one)', { details: { key: 'JWT_SECRET' } });
  }

  // Shutdown steps in the order they must run; start-up failures run the ones registered so far.
  const steps: Array<{ order: number; run: () => Promise<void> | void }> = [];
  const close = async () => {
    for (const step of steps.sort((a, b) => a.order - b.order).splice(0)) {
      try {
        await step.run();
      } catch (err) {
        logger.warn({ err: String(err) }, 'shutdown step failed');
      }
    }
  };
  try {
    let handle: RequestListener = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'cache-control': 'no-store' });
      res.end('{"error":"starting","message":"The server is starting"}');
    };
    const http = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(loaded.port, loaded.host, () => resolve());
    });
    steps.push({ order: 0, run: () => closeHttp(http) });
    const port = (http.address() as AddressInfo).port;
    const publicUrl = env.PUBLIC_URL ? loaded.publicUrl : `http://localhost:${port}`;

    let peers: DemoPeers | undefined;
    if (demoMode) {
      peers = await startDemoPeers();
      steps.push({ order: 9, run: () => peers!.stop() });
    }
    const jwtSecret = loaded.jwtSecret ?? randomBytes(32).toString('base64url');
    const config: EngineConfig = {
      ...loaded,
      port,
      publicUrl,
      jwtSecret,
      servers: peers ? peers.servers : loaded.servers,
      allowedDomains: peers ? [...new Set([...loaded.allowedDomains, ...peers.allowedDomains])] : loaded.allowedDomains,
    };

    const metrics = createMetrics({ defaultMetrics: true });
    const rawStore = await openEventStore(config.eventStore);
    steps.push({ order: 8, run: () => rawStore.close() });
    const store = instrumentStore(rawStore, metrics.observer);

    let activeKey = config.encryptionKey;
    if (!activeKey) {
      const dev = await loadOrCreateDevKey(config.dataDir);
      activeKey = dev.key;
      logger.warn({ keyFile: dev.path, created: dev.created },
        '!!! ENCRYPTION_KEY is not set: using a DEVELOPMENT key from the data folder. Secrets in the event log are only as safe as that file. Set ENCRYPTION_KEY (base64 of 32 bytes) in production !!!');
    }
    const sealer = createSealer({ activeKey, previousKeys: config.oldEncryptionKeys });
    const dataKeys = openDataKeyStore(env.DATA_KEY_STORE || config.eventStore, { eventStore: rawStore });
    steps.push({ order: 7, run: () => dataKeys.close() });
    const driver = options.driver ?? createOAuthDriver({ allowedDomains: config.allowedDomains, clock: systemClock });

    // Projections run embedded (on a thread of their own over a SQLite file); the engine's queries read them.
    const stateStore = openProjectionState(config.eventStore);
    steps.push({ order: 6, run: () => stateStore.close() });
    const projector = startServeProjector({ store: rawStore, connection: config.eventStore, stateStore, logger });
    steps.push({ order: 5, run: () => projector.stop() });
    metrics.watchProjections(() => projector.list());
    const workers = [
      startExpiryWorker({ store, reader: projector, logger }),
      startStaleClientWorker({ store, reader: projector, logger }),
    ];
    steps.push({ order: 4, run: async () => void (await Promise.all(workers.map((w) => w.stop()))) });

    // User-managed MCP servers (src/registry): listed from the projector's `servers` projection.
    const registry = createServerRegistry({ store, sealer, configServers: config.servers, allowedDomains: config.allowedDomains, logger, reader: projector });
    const engine = createEngine({
      store, config, driver, sealer, dataKeys, logger, observer: metrics.observer,
      queries: (deps) => projectionQueries(projector, { clock: deps.clock }),
      resolveServer: registry.resolveServer,
      listServers: registry.listServers,
    });

    let demo: RunningServer['demo'];
    const demoOptions = { jwtSecret, userId: DEMO_USER, role: 'admin' as const };
    if (peers) {
      await mkdir(config.dataDir, { recursive: true });
      const tokenFile = join(config.dataDir, 'demo-user.jwt');
      await writeFile(tokenFile, `${mintDemoToken(demoOptions)}\n`, { mode: 0o600 });
      await chmod(tokenFile, 0o600);
      demo = { userId: DEMO_USER, tokenFile, issuer: peers.issuer };
    }

    const authenticate = peers ? demoAuthenticator(demoOptions) : undefined;
    const dashboard = createDashboardRouter({ projector, authorize: requireAdmin(authenticate ?? jwtAuthenticator(jwtSecret)) });
    const app = createApp(engine, {
      publicUrl,
      logger,
      metrics,
      history: (flowId) => getFlowHistory(rawStore, flowId),
      servers: registry,
      ...(options.verifyConnections === false ? { verifyConnections: false } : {}),
      mount: [...(peers ? [demoPage(demoOptions)] : []), dashboard.routes()],
      ...(authenticate ? { authenticate, homeUrl: `${publicUrl}/` } : { jwtSecret }),
    });
    handle = app.callback();
    // After the socket stops taking requests: let callbacks' follow-up work finish.
    steps.push({ order: 1, run: () => app.drain() });
    await projector.ready;

    if (demo) {
      logger.info({ open: `${publicUrl}/`, authorizationServer: demo.issuer, servers: Object.keys(config.servers), apiTokenFile: demo.tokenFile },
        `Demo mode (MCP_SERVERS is not set). Open ${publicUrl}/ and click Connect.`);
    } else {
      logger.info({ publicUrl, servers: Object.keys(config.servers) }, `Listening on ${publicUrl}`);
    }
    return { url: publicUrl, port, engine, store: rawStore, config, ...(demo ? { demo } : {}), drain: () => app.drain(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Stops taking connections; in-flight requests get two seconds, then their sockets go. */
function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), 2000);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
