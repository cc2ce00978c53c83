/**
 * `getAccessToken` on its hot path (a valid token for a known (user, server)) against a plain
 * in-memory Map lookup, in the same run. Both sides are called the same way a host calls them
 * (`await`ed, round-robin over USERS grants); a synchronous `Map.get` is listed too, as the
 * floor no async API can reach. The engine runs on `sqlite::memory:` with grants recorded
 * through the real `tokensIssuedEvent` (sealed under data keys); the AS is never called.
 */
import { createSealer } from '../src/crypto/sealer.js';
import { createEngine } from '../src/engine.js';
import { tokensIssuedEvent } from '../src/grants/recordTokens.js';
import type { OAuthDriver } from '../src/oauth/types.js';
import { openEventStore } from '../src/store/openEventStore.js';
import { formatRate, measure, printTable, timed } from './_measure.js';

const USERS = 1_000;
const CALLS = 1_000_000;

const unused = (): never => {
  throw new Error('the hot path must not reach the authorization server');
};
const driver: OAuthDriver = { discover: unused, resolveClient: unused, startAuthorization: unused, exchangeCode: unused, refresh: unused, revoke: unused };

export async function run(): Promise<void> {
  const store = await openEventStore('sqlite::memory:');
  const engine = createEngine({
    store,
    config: { publicUrl: 'http://localhost:3080', flowTtlMs: 600_000, servers: { files: { url: 'http://127.0.0.1:1/mcp' } } },
    driver,
    sealer: createSealer({ activeKey: Buffer.alloc(32, 7).toString('base64') }),
  });
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
  const map = new Map<string, string>();
  const ctx = { now: new Date(), correlationId: 'bench', actor: 'bench' };
  for (const u of users) {
    const accessToken = `at-${u}-${'x'.repeat(600)}`;
    const issued = await tokensIssuedEvent(engine.deps, { flowId: `flow-${u}`, userId: u, serverName: 'files', issuer: 'http://as', clientId: 'c' }, {
      accessToken, tokenType: 'Bearer', refreshToken: `rt-${u}`, expiresAt: Date.now() + 3_600_000,
    }, ctx);
    await engine.deps.store.appendToStream(issued.stream, issued.event);
    map.set(`${u}\u0000files`, accessToken);
    if ((await engine.getAccessToken(u, 'files')) !== accessToken) throw new Error('wrong token');
  }
  const mapLookup = async (userId: string, serverName: string): Promise<string | undefined> => map.get(`${userId}\u0000${serverName}`);

  const loop = (fn: (u: string) => unknown) => async () => ({
    items: CALLS,
    seconds: await timed(async () => {
      for (let i = 0; i < CALLS; i++) await fn(users[i % USERS]!);
    }),
  });
  const ours = await measure(loop((u) => engine.getAccessToken(u, 'files')), 5);
  const asyncMap = await measure(loop((u) => mapLookup(u, 'files')), 5);
  const syncMap = await measure(async () => {
    let hits = 0;
    const seconds = await timed(() => {
      for (let i = 0; i < CALLS; i++) if (map.get(`${users[i % USERS]!}\u0000files`) !== undefined) hits++;
    });
    if (hits !== CALLS) throw new Error('missed');
    return { items: CALLS, seconds };
  }, 5);

  const keys = users.map((u) => `${u}\u0000files`);
  const presetMap = await measure(async () => {
    let hits = 0;
    const seconds = await timed(() => {
      for (let i = 0; i < CALLS; i++) if (map.get(keys[i % USERS]!) !== undefined) hits++;
    });
    if (hits !== CALLS) throw new Error('missed');
    return { items: CALLS, seconds };
  }, 5);

  printTable(['hot path', 'calls/s', 'getAccessToken ÷ this'], [
    ['engine.getAccessToken (valid token, cached)', formatRate(ours.perSecond), '1.00'],
    ['await async Map lookup (same call shape)', formatRate(asyncMap.perSecond), (ours.perSecond / asyncMap.perSecond).toFixed(2)],
    ['sync Map.get, key built per call (no promise)', formatRate(syncMap.perSecond), (ours.perSecond / syncMap.perSecond).toFixed(2)],
    ['sync Map.get, keys prebuilt (bare lookup)', formatRate(presetMap.perSecond), (ours.perSecond / presetMap.perSecond).toFixed(2)],
  ]);
  console.log(`\nTarget: getAccessToken ≥ 0.2× the map lookup. Cached entries are re-validated against the grant stream's last revision every 1 s (see src/grants/tokenCache.ts).`);
  await store.close();
}
