import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
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
import { createApp } from './http/createApp.js';
import { demoAuthenticator, demoPage, mintDemoToken } from './http/demoPage.js';
import { createLogger } from './http/logger.js';
import { createMetrics, instrumentStore } from './http/metrics.js';
import { createOAuthDriver } from './oauth/driver.js';
import { openEventStore } from './store/openEventStore.js';
import type { EventStore } from './store/types.js';

export interface RunningServer {
  /** Where it listens, e.g. `http://localhost:3080` (the public URL). */
  url: string;
  port: number;
  engine: Engine;
  store: EventStore;
  config: EngineConfig;
  /** Set in demo mode: the demo user and where its API token was written. */
  demo?: { userId: string; tokenFile: string; issuer: string };
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: PinoLogger;
}

export const DEMO_USER = 'demo-user';

/**
 * The composition root of `flowctl serve`: configuration → event store → key ring → OAuth
 * driver → engine → Koa app → listening socket. When `MCP_SERVERS` is unset it runs demo mode:
 * local authorization and MCP servers on loopback, a development JWT secret and a demo page.
 *
 * The socket is bound before the engine is built so that `PORT=0` (tests) still yields a
 * correct default `PUBLIC_URL`, which every redirect URI is derived from.
 */
export async function startServer(env: NodeJS.ProcessEnv = process.env, options: StartServerOptions = {}): Promise<RunningServer> {
  const config0 = loadConfig(env);
  const logger = options.logger ?? createLogger({ level: config0.logLevel });
  const demoMode = config0.mcpServersPath === undefined;
  if (!demoMode && !config0.jwtSecret) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, 'JWT_SECRET: required when MCP_SERVERS is set (demo mode generates one)', { details: { key: 'JWT_SECRET' } });
  }

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.warn({ err: String(err) }, 'shutdown step failed'));
  };
  try {
    // Until the app exists, requests get a quick 503 instead of hanging on a handler-less socket.
    let handle: RequestListener = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'cache-control': 'no-store' });
      res.end('{"error":"starting","message":"The server is starting"}');
    };
    const http = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config0.port, config0.host, () => resolve());
    });
    cleanups.push(() => closeHttp(http));
    const port = (http.address() as AddressInfo).port;
    const publicUrl = env.PUBLIC_URL ? config0.publicUrl : `http://localhost:${port}`;

    let peers: DemoPeers | undefined;
    if (demoMode) {
      peers = await startDemoPeers();
      cleanups.push(() => peers!.stop());
    }
    const jwtSecret = config0.jwtSecret ?? randomBytes(32).toString('base64url');
    const config: EngineConfig = {
      ...config0,
      port,
      publicUrl,
      jwtSecret,
      servers: peers ? peers.servers : config0.servers,
      allowedDomains: peers ? [...new Set([...config0.allowedDomains, ...peers.allowedDomains])] : config0.allowedDomains,
    };

    const metrics = createMetrics({ defaultMetrics: true });
    const rawStore = await openEventStore(config.eventStore);
    cleanups.push(() => rawStore.close());
    const store = instrumentStore(rawStore, metrics.observer);

    let activeKey = config.encryptionKey;
    if (!activeKey) {
      const dev = await loadOrCreateDevKey(config.dataDir);
      activeKey = dev.key;
      logger.warn({ keyFile: dev.path, created: dev.created },
        '!!! ENCRYPTION_KEY is not set: using a DEVELOPMENT key from the data folder. Secrets in the event log are only as safe as that file. Set ENCRYPTION_KEY (base64 of 32 bytes) in production !!!');
    }
    const sealer = createSealer({ activeKey, previousKeys: config.oldEncryptionKeys });
    const driver = createOAuthDriver({ allowedDomains: config.allowedDomains, clock: systemClock });

    // PROJECTIONS: when the projector lands (startProjector + projection-backed queries), start it
    // here on `rawStore`, pass its `queries` to createEngine and push its stop() to `cleanups`.
    const engine = createEngine({ store, config, driver, sealer, logger, observer: metrics.observer });

    let demo: RunningServer['demo'];
    const demoOptions = { jwtSecret, userId: DEMO_USER };
    if (peers) {
      await mkdir(config.dataDir, { recursive: true });
      const tokenFile = join(config.dataDir, 'demo-user.jwt');
      await writeFile(tokenFile, `${mintDemoToken(demoOptions)}\n`, { mode: 0o600 });
      await chmod(tokenFile, 0o600);
      demo = { userId: DEMO_USER, tokenFile, issuer: peers.issuer };
    }

    // DASHBOARD: the operators' page (`src/http/dashboard/`, createDashboardRouter) mounts
    // through `mount` below once it exists.
    const app = createApp(engine, {
      publicUrl,
      logger,
      metrics,
      history: (flowId) => getFlowHistory(rawStore, flowId),
      ...(peers ? { authenticate: demoAuthenticator(demoOptions), homeUrl: `${publicUrl}/`, mount: [demoPage(demoOptions)] } : { jwtSecret }),
    });
    handle = app.callback();

    if (demo) {
      logger.info({ open: `${publicUrl}/`, authorizationServer: demo.issuer, servers: Object.keys(config.servers), apiTokenFile: demo.tokenFile },
        `Demo mode (MCP_SERVERS is not set). Open ${publicUrl}/ and click Connect.`);
    } else {
      logger.info({ publicUrl, servers: Object.keys(config.servers) }, `Listening on ${publicUrl}`);
    }
    return { url: publicUrl, port, engine, store: rawStore, config, ...(demo ? { demo } : {}), close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // In-flight requests get a moment to finish; then the sockets go.
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}
