import { mkdtempSync, rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../src/clock.js';
import { createSealer } from '../../../src/crypto/sealer.js';
import { createEngine, type Engine } from '../../../src/engine.js';
import { createApp } from '../../../src/http/createApp.js';
import { signHs256Jwt } from '../../../src/http/jwt.js';
import { createOAuthDriver } from '../../../src/oauth/index.js';
import type { ResolveHost } from '../../../src/oauth/publicUrl.js';
import type { McpServerConfig } from '../../../src/oauth/types.js';
import { createServerRegistry, type ServerRegistry } from '../../../src/registry/index.js';
import { openEventStore } from '../../../src/store/openEventStore.js';
import type { EventStore } from '../../../src/store/types.js';
import { LOOPBACK, startPeers, testKey, type Peers } from '../../support/engineHarness.js';

const SECRET = 'registry-test-jwt-secret-0123456789-abcdef';

/** Made-up names the tests resolve by hand: one public, one private, one not at all. */
export const FAKE_DNS: Record<string, string[]> = {
  'public.example.test': ['93.184.215.14'],
  'internal.example.test': ['10.1.2.3'],
  'mixed.example.test': ['93.184.215.14', '169.254.169.254'],
};

const resolveHost: ResolveHost = async (host) => {
  if (Object.hasOwn(FAKE_DNS, host)) return FAKE_DNS[host]!.map((address) => ({ address }));
  if (host.endsWith('.test')) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return lookup(host, { all: true });
};

export interface RegistryApp {
  base: string;
  engine: Engine;
  registry: ServerRegistry;
  store: EventStore;
  peers: Peers | undefined;
  /** JSON request; `user` signs a bearer JWT (`admin: true` adds the admin role). */
  call(path: string, init?: { method?: string; user?: string; admin?: boolean; json?: unknown; body?: string; headers?: Record<string, string>; cookie?: string }): Promise<Response>;
  /** The store's head position, for "nothing was appended" checks. */
  head(): Promise<string>;
  /** Every recorded event whose stream starts with `prefix`. */
  events(prefix: string): Promise<Array<{ stream: string; type: string; data: Record<string, unknown> }>>;
  close(): Promise<void>;
}

/**
 * The Koa app with the registry mounted, over a SQLite store in a temp folder, the engine
 * wired to the registry's `resolveServer`/`listServers` (as `src/server.ts` does). With
 * `peers`, oidc-provider and an SDK MCP server run on loopback and `files` is configured.
 */
export async function startRegistryApp(options: { peers?: boolean } = {}): Promise<RegistryApp> {
  const peers = options.peers ? await startPeers('oidc') : undefined;
  const http: Server = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'flow-registry-'));
  const store = await openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const sealer = createSealer({ activeKey: testKey() });
  const configServers: Record<string, McpServerConfig> = {
    files: { url: peers?.mcp.url ?? 'https://files.example.com/mcp', headers: { 'X-Api-Key': 'configured-secret-key' } },
  };
  const registry = createServerRegistry({ store, sealer, configServers, allowedDomains: LOOPBACK, resolveHost, clock: systemClock });
  const engine = createEngine({
    store,
    config: { publicUrl: base, flowTtlMs: 600_000, servers: configServers },
    driver: createOAuthDriver({ allowedDomains: LOOPBACK, clock: systemClock }),
    sealer,
    resolveServer: registry.resolveServer,
    listServers: registry.listServers,
  });
  const app = createApp(engine, { publicUrl: base, jwtSecret: SECRET, servers: registry });
  http.on('request', app.callback());
  return {
    base,
    engine,
    registry,
    store,
    peers,
    call(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.user) {
        const now = Math.floor(Date.now() / 1000);
        headers.set('authorization', `Bearer ${signHs256Jwt({ sub: init.user, iat: now, exp: now + 3600, ...(init.admin ? { role: 'admin' } : {}) }, SECRET)}`);
      }
      if (init.cookie) headers.set('cookie', init.cookie);
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      return fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    },
    async head() {
      const p = await store.headPosition();
      return p ? `${p.commit}/${p.prepare}` : 'empty';
    },
    async events(prefix) {
      const out: Array<{ stream: string; type: string; data: Record<string, unknown> }> = [];
      for await (const e of store.readAll()) if (e.streamId.startsWith(prefix)) out.push({ stream: e.streamId, type: e.type, data: e.data as Record<string, unknown> });
      return out;
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await registry.stop();
      await store.close();
      await peers?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `{ config }` for a server at `url` with a title. */
export const configOf = (title: string, url = 'https://public.example.test/mcp', extra: Record<string, unknown> = {}) => ({ config: { title, url, ...extra } });
