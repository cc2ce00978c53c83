import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../../src/engine.js';
import { signHs256Jwt } from '../../../src/http/jwt.js';
import { createLogger } from '../../../src/http/logger.js';
import { startServer } from '../../../src/server.js';
import type { EventStore } from '../../../src/store/types.js';
import { startPeers, testKey, type Peers } from '../../support/engineHarness.js';
import type { OidcProviderOptions } from '../../support/oidcProvider.js';

export const SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnop';

/** A signed HS256 JWT for `sub`, valid for an hour unless claims say otherwise. */
export function jwt(sub: string | undefined, claims: Record<string, unknown> = {}, secret = SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  return signHs256Jwt({ ...(sub === undefined ? {} : { sub }), iat: now, exp: now + 3600, ...claims }, secret);
}

/**
 * The environment `flowctl serve` gets in tests: a SQLite file and data folder in `dir`, the
 * given `MCP_SERVERS`, loopback peers allowed, a fresh encryption key.
 */
export function serveEnv(dir: string, servers: Record<string, unknown>): NodeJS.ProcessEnv {
  const serversFile = join(dir, 'servers.json');
  writeFileSync(serversFile, JSON.stringify(servers));
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    EVENT_STORE: `sqlite:${join(dir, 'events.db')}`,
    DATA_DIR: dir,
    JWT_SECRET: SECRET,
    ENCRYPTION_KEY: testKey(),
    MCP_SERVERS: serversFile,
    ALLOWED_DOMAINS: '127.0.0.1,localhost',
  };
}

export interface AppHarness {
  /** `http://localhost:<port>`: also the PUBLIC_URL, so redirect URIs point here. */
  base: string;
  peers: Peers;
  engine: Engine;
  store: EventStore;
  redirectUri(serverName: string): string;
  /** A request with `redirect: 'manual'`; `user` adds a bearer JWT for that user. */
  call(path: string, init?: RequestInit & { user?: string; cookie?: string }): Promise<Response>;
  /** The store's `$all` head once background work settled, as a string for `t.is` comparisons. */
  head(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real thing on loopback, composed by `startServer` exactly as `flowctl serve` does
 * (projector, workers, metrics, dashboard): oidc-provider + an SDK MCP server (server name
 * `files`) from an `MCP_SERVERS` file, a SQLite store in a temp folder, a random port.
 */
export async function startApp(oidc: Omit<OidcProviderOptions, 'mcpResource'> = {}): Promise<AppHarness> {
  const peers = await startPeers('oidc', oidc);
  const dir = mkdtempSync(join(tmpdir(), 'flow-http-'));
  const server = await startServer(serveEnv(dir, { files: { url: peers.mcp.url } }), { logger: createLogger({ level: 'silent' }) });
  const base = server.url;
  return {
    base,
    peers,
    engine: server.engine,
    store: server.store,
    redirectUri: (serverName) => `${base}/api/mcp/${encodeURIComponent(serverName)}/oauth/callback`,
    call(path, init = {}) {
      const { user, cookie, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (user) headers.set('authorization', `Bearer ${jwt(user)}`);
      if (cookie) headers.set('cookie', cookie);
      return fetch(`${base}${path}`, { ...rest, headers, redirect: 'manual' });
    },
    async head() {
      await server.drain();
      const p = await server.store.headPosition();
      return p ? `${p.commit}/${p.prepare}` : 'empty';
    },
    async close() {
      await server.close();
      await peers.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `name=value` of the first Set-Cookie whose name starts with `prefix`, or undefined. */
export function cookieFrom(res: Response, prefix = 'mcp_oauth_binding_'): { pair: string; line: string } | undefined {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(prefix));
  return line ? { pair: line.split(';')[0]!, line } : undefined;
}
