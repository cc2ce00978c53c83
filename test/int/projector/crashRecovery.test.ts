import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startProjector } from '../../../src/projector/index.js';
import { createMemoryProjectionState, openSqliteProjectionState } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';
import { canonicalExpected, expectedStates, projectedStates, readLog } from '../../support/projections/harness.js';
import { appendLog, prng, simulate } from '../../support/projections/logGenerator.js';

const CHILD = fileURLToPath(new URL('../../support/projections/projectorChild.ts', import.meta.url));

/** Runs the child; kills it with SIGKILL after `killAfterMs` from its start (unless it finished). */
function runChild(path: string, killAfterMs: number | null): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, '25'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (killAfterMs !== null && chunk.toString().includes('started') && !timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`child exited with ${code}`));
    });
  });
}

test('a projector SIGKILLed at random moments during catch-up resumes to the state of a full rebuild', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'projector-crash-'));
  const path = join(dir, 'events.db');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openEventStore(`sqlite:${path}?synchronous=normal`);
  t.teardown(() => store.close());
  await appendLog(store, simulate(7, 4000, { users: 40, servers: 4 }).entries);
  const head = (await store.headPosition())!;

  const rnd = prng(Date.now() & 0xffff);
  const checkpoints: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const outcome = await runChild(path, 50 + Math.floor(rnd() * 600));
    const state = openSqliteProjectionState(path);
    checkpoints.push(state.readCheckpoint('flows-overview')?.position?.commit ?? 0n);
    state.close();
    if (outcome === 'finished') break;
  }
  t.true(checkpoints.some((c) => c > 0n && c < head.commit), `some kill landed mid catch-up (checkpoints ${checkpoints.join(', ')} of ${head.commit})`);
  t.is(await runChild(path, null), 'finished');

  // What the killed-and-restarted runs persisted, read from the file...
  const persisted = openSqliteProjectionState(path);
  t.teardown(() => persisted.close());
  const resumed = startProjector({ store, stateStore: persisted });
  await resumed.ready;
  // ...next to a rebuild from zero in memory, and to the plain folds.
  const rebuiltStore = createMemoryProjectionState();
  const rebuilt = startProjector({ store, stateStore: rebuiltStore });
  await rebuilt.ready;
  const expected = expectedStates(await readLog(store));
  const resumedStates = await projectedStates(resumed, persisted, expected);
  t.deepEqual(resumedStates, await projectedStates(rebuilt, rebuiltStore, expected));
  t.deepEqual(resumedStates, canonicalExpected(expected));
  for (const p of await resumed.list()) t.is(p.status, 'running');
  await resumed.stop();
  await rebuilt.stop();
});

test('two projectors sharing one SQLite file both end with the states of a single one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'projector-shared-'));
  const path = join(dir, 'events.db');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stores = [await openEventStore(`sqlite:${path}?synchronous=normal`), await openEventStore(`sqlite:${path}?synchronous=normal`)];
  await appendLog(stores[0]!, simulate(11, 600, { users: 10, servers: 3 }).entries);
  const states = stores.map(() => openSqliteProjectionState(path));
  const projectors = stores.map((store, i) => startProjector({ store, stateStore: states[i]!, batchSize: 7 }));
  await Promise.all(projectors.map((p) => p.ready));
  await appendLog(stores[1]!, simulate(12, 150, { users: 10, servers: 3 }).entries);
  await Promise.all(projectors.map((p) => p.catchUp(10_000)));
  const expected = expectedStates(await readLog(stores[0]!));
  for (let i = 0; i < 2; i++) t.deepEqual(await projectedStates(projectors[i]!, states[i]!, expected), canonicalExpected(expected));
  for (const p of projectors) await p.stop();
  for (const s of states) s.close();
  for (const s of stores) await s.close();
});
