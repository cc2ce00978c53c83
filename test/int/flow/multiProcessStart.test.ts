import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { spawnTsChild } from '../../support/childProcess.js';
import { eventsOf, startPeers, testKey } from '../../support/engineHarness.js';

const child = fileURLToPath(new URL('../../support/flowStartChild.ts', import.meta.url));

const run = (args: string[]) => spawnTsChild(child, args);

test('20 concurrent starts across 4 processes give one flow id and one registration', async (t) => {
  const peers = await startPeers('oidc');
  const dir = mkdtempSync(join(tmpdir(), 'flow-race-'));
  const db = join(dir, 'events.db');
  t.teardown(async () => { await peers.stop(); rmSync(dir, { recursive: true, force: true }); });
  const key = testKey();
  // Create the schema once so the children race on flows, not on migrations.
  await (await openEventStore(`sqlite:${db}`)).close();

  const children = Array.from({ length: 4 }, () => run([db, peers.mcp.url, '5', key]));
  for (const c of children) t.is(await c.next(), 'ready');
  for (const c of children) c.p.stdin.write('go\n');
  const results = (await Promise.all(children.map((c) => c.next()))).flatMap((l) => JSON.parse(l) as Array<{ flowId: string; url: string; joined: boolean }>);
  t.deepEqual(await Promise.all(children.map((c) => c.exited)), [0, 0, 0, 0]);

  t.is(results.length, 20);
  t.is(new Set(results.map((r) => r.flowId)).size, 1, 'one flow id');
  t.is(new Set(results.map((r) => r.url)).size, 1, 'one authorization URL');
  t.is(results.filter((r) => !r.joined).length, 1, 'one creator, 19 joiners');
  t.is(peers.registrations(), 1, 'one registration request at the AS');

  const store = await openEventStore(`sqlite:${db}`);
  t.teardown(() => store.close());
  const events = await eventsOf(store);
  t.is(events.filter((e) => e.type === 'FlowInitiated').length, 1);
  t.is(events.filter((e) => e.type === 'ConnectionAttemptStarted').length, 1);
  t.is(events.filter((e) => e.type === 'ClientRegistered').length, 1);
  t.is(events.filter((e) => e.type === 'BrowserBound').length, 19, 'each joiner has its own browser binding');
});
