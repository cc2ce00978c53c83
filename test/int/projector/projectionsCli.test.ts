import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { appendGolden, loadGolden } from '../../support/goldenLog.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flowctl-projections-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function flowctl(db: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'projections', ...args], {
      cwd: ROOT,
      env: { ...process.env, EVENT_STORE: `sqlite:${db}`, MCP_SERVERS: '', DATA_DIR: dir },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

test('projections list, state with a partition, rebuild, and deploy refused on SQLite', async (t) => {
  const db = join(dir, 'events.db');
  const store = await openEventStore(`sqlite:${db}`);
  const golden = loadGolden('success');
  await appendGolden(store, golden.events);
  await store.close();
  const flowStreamId = golden.events.find((e) => e.type === 'FlowInitiated')!.stream;

  const list = await flowctl(db, 'list');
  t.is(list.code, 0, list.stderr);
  for (const name of ['flow-status', 'connections', 'client-health', 'flows-overview']) t.regex(list.stdout, new RegExp(name));

  const state = await flowctl(db, 'state', 'flow-status', '--partition', flowStreamId);
  t.is(state.code, 0, state.stderr);
  t.like(JSON.parse(state.stdout), { status: 'COMPLETED' });

  const missing = await flowctl(db, 'state', 'flow-status', '--partition', 'flow-nope');
  t.not(missing.code, 0);
  t.regex(missing.stderr, /no state/);

  const rebuilt = await flowctl(db, 'rebuild', 'flows-overview');
  t.is(rebuilt.code, 0, rebuilt.stderr);

  const deploy = await flowctl(db, 'deploy');
  t.not(deploy.code, 0);
  t.regex(deploy.stderr, /config_invalid|EventStoreDB|esdb/i);
});
