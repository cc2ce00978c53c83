import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openDataKeyStore } from '../../../src/store/dataKeys/index.js';
import { eventsOf, startEngine, startPeers, testKey } from '../../support/engineHarness.js';
import { currentTokens } from '../../support/grantHelpers.js';
import type { OidcProviderHandle } from '../../support/oidcProvider.js';

const child = fileURLToPath(new URL('../../support/tokenChild.ts', import.meta.url));

/** A child's stdout as a queue of lines. */
function spawnChild(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => (await lines.next()).value as string;
  const exited = new Promise<number>((r) => p.on('exit', (code) => r(code ?? -1)));
  return { p, next, exited };
}

test('20 concurrent getAccessToken calls across 4 processes at expiry make one refresh request and all get the new token', async (t) => {
  const peers = await startPeers('oidc');
  const dir = mkdtempSync(join(tmpdir(), 'grant-race-'));
  const dbPath = join(dir, 'events.db');
  const key = testKey();
  const dataKeys = openDataKeyStore(`sqlite:${dbPath}`);
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, dbPath, encryptionKey: key, grantOptions: { dataKeys } });
  t.teardown(async () => { dataKeys.close(); await h.close(); await peers.stop(); rmSync(dir, { recursive: true, force: true }); });
  t.true((await h.connect('alice', 'files')).ok);
  const issued = await currentTokens(h.engine, 'alice', 'files');

  // Every child's clock is an hour ahead: the 300 s access token is past its expiry for all.
  const children = Array.from({ length: 4 }, () => spawnChild([dbPath, peers.mcp.url, '5', key, String(3_600_000)]));
  for (const c of children) t.is(await c.next(), 'ready');
  for (const c of children) c.p.stdin.write('go\n');
  const tokens = (await Promise.all(children.map((c) => c.next()))).flatMap((l) => JSON.parse(l) as string[]);
  t.deepEqual(await Promise.all(children.map((c) => c.exited)), [0, 0, 0, 0]);

  t.is(tokens.length, 20);
  t.is(new Set(tokens).size, 1, 'everyone got the same token');
  t.not(tokens[0], issued.accessToken, 'a new one');
  t.is((peers.as as OidcProviderHandle).counts.token.refresh_token, 1, 'one refresh request at the AS');
  const types = (await eventsOf(h.store, 'grant')).map((e) => e.type);
  t.deepEqual(types, ['TokensIssued', 'RefreshStarted', 'TokensRefreshed']);
  t.is((await currentTokens(h.engine, 'alice', 'files')).accessToken, tokens[0]);
  t.like(await h.engine.verifyConnection('alice', 'files'), { ok: true }, 'the MCP server accepts the refreshed token');
});
