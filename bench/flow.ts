/**
 * Complete flows per second through the engine (start, follow the authorization redirects,
 * callback, tokens; durable SQLite appends with synchronous=FULL, data keys in the same file)
 * next to the same protocol work done with the SDK's `client/auth` functions alone and no
 * persistence, in the same process against the same local authorization server: one browser
 * at a time, and `BENCH_CONCURRENCY` (default 8) at once. Target: engine ≤ 1.25× the bare cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { redirectUriFor } from '../src/flow/deps.js';
import { openDataKeyStore } from '../src/store/dataKeys/index.js';
import { openEventStore } from '../src/store/openEventStore.js';
import { followAuthorization } from '../test/support/browserless.js';
import { startEngine, startPeers, type Peers } from '../test/support/engineHarness.js';
import { formatRate, measureAlternating, printTable, timed } from './_measure.js';

const FLOWS = Number(process.env.BENCH_FLOWS ?? 150);
/** Browsers at once in the concurrent rows (a multi-user server's load); 1 is the latency view. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PUBLIC_URL = 'http://localhost:3080';
/** `inline` runs every SQLite write and checkpoint on the event loop (for comparison). */
const WRITER = process.env.BENCH_WRITER;

/** Runs `flow(i)` for i < n with at most `concurrency` at a time. */
async function pool(n: number, concurrency: number, flow: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await flow(next++);
  }));
}

async function bareFlows(peers: Peers, n: number, concurrency: number): Promise<{ items: number; seconds: number }> {
  const redirectUri = redirectUriFor(PUBLIC_URL, 'files');
  const prm0 = await discoverOAuthProtectedResourceMetadata(peers.mcp.url);
  const as0 = await discoverAuthorizationServerMetadata(prm0.authorization_servers![0]!);
  const client: OAuthClientInformationFull = await registerClient(prm0.authorization_servers![0]!, {
    metadata: as0!,
    clientMetadata: { client_name: 'bench', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' },
  });
  const seconds = await timed(() => pool(n, concurrency, async (i) => {
      const prm = await discoverOAuthProtectedResourceMetadata(peers.mcp.url);
      const asUrl = prm.authorization_servers![0]!;
      const metadata = await discoverAuthorizationServerMetadata(asUrl);
      const { authorizationUrl, codeVerifier } = await startAuthorization(asUrl, {
        metadata: metadata!, clientInformation: client, redirectUrl: redirectUri, scope: prm.scopes_supported?.join(' '), state: `s${i}`, resource: new URL(prm.resource),
      });
      const cb = await followAuthorization(authorizationUrl.href, { redirectUri });
      await exchangeAuthorization(asUrl, { metadata: metadata!, clientInformation: client, authorizationCode: cb.code!, codeVerifier, redirectUri, resource: new URL(prm.resource) });
  }));
  return { items: n, seconds };
}

async function engineFlows(peers: Peers, n: number, concurrency: number, dbPath: string, synchronous: 'full' | 'normal'): Promise<{ items: number; seconds: number }> {
  // As `flowctl serve` composes it: data keys in the event store's file, on its connection.
  const store = await openEventStore(`sqlite:${dbPath}?synchronous=${synchronous}${WRITER ? `&writer=${WRITER}` : ''}`);
  const dataKeys = openDataKeyStore(`sqlite:${dbPath}`, { eventStore: store });
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, store, grantOptions: { dataKeys }, publicUrl: PUBLIC_URL });
  try {
    await h.connect('warm-up', 'files'); // registers the client once, as the bare run does
    const seconds = await timed(() => pool(n, concurrency, async (i) => {
      const outcome = await h.connect(`user-${i}-${Math.random()}`, 'files');
      if (!outcome.ok) throw new Error(`flow failed: ${outcome.error}`);
    }));
    return { items: n, seconds };
  } finally {
    await h.close();
    dataKeys.close();
    await store.close();
  }
}

export async function run(): Promise<void> {
  const rows: string[][] = [];
  const durability: string[] = [];
  for (const kind of ['sdk', 'oidc'] as const) {
    const peers = await startPeers(kind);
    const dir = mkdtempSync(join(tmpdir(), 'bench-flow-'));
    try {
      let k = 0;
      for (const concurrency of [1, CONCURRENCY]) {
        const syncs = concurrency === 1 ? (['full', 'normal'] as const) : (['full'] as const);
        // Bare and engine runs alternate: the in-process AS and MCP server warm up and grow as
        // flows go by, which a block of runs per contender would credit to one side.
        const [bare, ...engines] = await measureAlternating([
          () => bareFlows(peers, FLOWS, concurrency),
          ...syncs.map((sync) => () => engineFlows(peers, FLOWS, concurrency, join(dir, `events-${k++}.db`), sync)),
        ]);
        if (syncs.length === 2) {
          // Same run, in alternation: what synchronous=full adds to a flow over normal is its
          // fsync, which no engine code can make cheaper.
          const [full, normal] = engines.map((e) => 1000 / e.perSecond) as [number, number];
          const bareMs = 1000 / bare.perSecond;
          durability.push(`${kind === 'sdk' ? 'SDK demo AS' : 'oidc-provider'}: full − normal = ${(full - normal).toFixed(2)} ms per flow, ${((100 * (full - normal)) / bareMs).toFixed(0)}% of a bare flow (the 1.25× target leaves ${(0.25 * bareMs).toFixed(2)} ms for all of the engine's work)`);
        }
        for (const [i, sync] of syncs.entries()) {
          const engine = engines[i]!;
          rows.push([
            kind === 'sdk' ? 'SDK demo AS' : 'oidc-provider',
            String(concurrency),
            sync,
            formatRate(bare.perSecond),
            formatRate(engine.perSecond),
            `${(1000 / bare.perSecond).toFixed(2)} ms`,
            `${(1000 / engine.perSecond).toFixed(2)} ms`,
            `${(bare.perSecond / engine.perSecond).toFixed(2)}×`,
          ]);
        }
      }
    } finally {
      await peers.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`${FLOWS} flows per run, median of 3 runs, bare and engine runs in turn; one browser at a time (each flow waits`);
  console.log(`for every commit: the latency view) and ${CONCURRENCY} at once (a multi-user server: commits of concurrent flows share`);
  console.log('an fsync). synchronous=full, the default, fsyncs once per flow (tokens + completion; the start and the exchange');
  console.log('claim with its data key are committed with deferred durability and flushed by that fsync); normal shows the');
  console.log('engine\'s own cost without the disk\'s fsync latency. ms/flow = 1 / (flows/s).\n');
  printTable(['authorization server', 'browsers at once', 'synchronous', 'bare SDK flows/s', 'engine flows/s', 'bare ms/flow', 'engine ms/flow', 'engine cost (target ≤ 1.25×)'], rows);
  console.log('\nThe durable commit\'s cost, one browser at a time:');
  for (const line of durability) console.log(`  ${line}`);
}
