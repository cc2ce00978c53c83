import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { eventsOf, startPeers, testKey } from '../../support/engineHarness.js';

const child = fileURLToPath(new URL('../../support/flowStartChild.ts', import.meta.url));

function run(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); waiters.splice(0).forEach((w) => w()); }
  });
  const next = async (): Promise<string> => {
    while (!lines.length) await new Promise<void>((r) => waiters.push(r));
    return lines.shift()!;
  };
  const exited = new Promise<number>((r) => p.on('exit', (code) => r(code ?? -1)));
  return { p, next, exited };
}

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
