import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowStream } from '../../../src/flow/streams.js';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { appendGolden, loadGolden } from '../../support/goldenLog.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flowctl-audit-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `flowctl` entry point as an operator would, against one SQLite file. */
function flowctl(db: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, EVENT_STORE: `sqlite:${db}`, MCP_SERVERS: '', DATA_DIR: dir },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** A SQLite file holding a golden log, plus whatever `corrupt` appends by hand. */
async function logFile(name: string, golden: string, corrupt?: (append: (stream: string, type: string, data: unknown, metadata: unknown) => Promise<void>) => Promise<void>): Promise<string> {
  const db = join(dir, `${name}.db`);
  const store = await openEventStore(`sqlite:${db}`);
  await appendGolden(store, loadGolden(golden).events);
  await corrupt?.(async (stream, type, data, metadata) => {
    await store.appendToStream(stream, { type, data, metadata });
  });
  await store.close();
  return db;
}

const meta = { at: '2026-01-15T12:00:00.000Z', schemaVersion: 1, machineVersion: 1, correlationId: 'by-hand', actor: 'mallory' };

test('replay --all on a clean log exits 0 with a summary, progress on stderr', async (t) => {
  const db = await logFile('clean', 'clientRejected');
  const r = await flowctl(db, 'replay', '--all');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /anomalies {3}0/);
  t.regex(r.stdout, /OK: every stored transition is legal/);
  t.regex(r.stderr, /replay: \[#+\] 100\.0%.*ev\/s/);
});

test('replay --all on a hand-corrupted log exits non-zero naming the stream and revision', async (t) => {
  const success = loadGolden('success');
  const initiated = success.events.find((e) => e.type === 'FlowInitiated')!;
  const forged = 'forgedForgedForged01';
  const cancelled = loadGolden('cancelled');
  const db = await logFile('corrupt', 'cancelled', async (append) => {
    // A pending flow that "completes" without the exchange claim ...
    await append(flowStream(forged), 'FlowInitiated', { ...(initiated.data as object), flowId: forged }, initiated.metadata);
    await append(flowStream(forged), 'FlowCompleted', { exchangeId: 'x', grantRevision: '0' }, meta);
    // ... and an event after the cancelled flow's end, an unknown type and a future version.
    await append(flowStream(cancelled.flows.main!), 'FlowExpired', { expiresAt: '2026-01-15T10:10:00.000Z' }, meta);
    await append(flowStream(forged), 'FlowTeleported', {}, meta);
    await append(flowStream(forged), 'FlowCancelled', {}, { ...meta, schemaVersion: 42 });
  });
  const r = await flowctl(db, 'replay', '--all');
  t.is(r.code, 1);
  t.true(r.stdout.includes(`ANOMALY illegal_transition ${flowStream(forged)}@1 FlowCompleted`), r.stdout);
  t.true(r.stdout.includes(`ANOMALY event_after_final ${flowStream(cancelled.flows.main!)}@2 FlowExpired`), r.stdout);
  t.true(r.stdout.includes(`ANOMALY unknown_event_type ${flowStream(forged)}@2`), r.stdout);
  t.true(r.stdout.includes(`ANOMALY future_schema_version ${flowStream(forged)}@3`), r.stdout);
  t.regex(r.stdout, /FAILED/);
});

test('replay <flowId> exits 0 for a clean flow, 1 for an unknown one, 2 for bad usage', async (t) => {
  const log = loadGolden('superseded');
  const db = await logFile('single', 'superseded');
  const ok = await flowctl(db, 'replay', log.flows.superseded!);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /state superseded, status CANCELLED, error flow_superseded; anomalies 0/);
  t.is((await flowctl(db, 'replay', 'noSuchFlowAnywhere00')).code, 1);
  t.is((await flowctl(db, 'replay')).code, 2);
});

test('history prints a redacted timeline, --json for tools, --at for a past moment', async (t) => {
  const log = loadGolden('success');
  const db = await logFile('history', 'success');
  const flowId = log.flows.main!;
  const text = await flowctl(db, 'history', flowId);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /TIME +REV +EVENT +ACTOR +STATE AFTER +DATA/);
  t.regex(text.stdout, /CodeExchangeStarted +alice +exchanging/);
  for (const secret of log.secrets) t.false(text.stdout.includes(secret));

  const json = await flowctl(db, 'history', flowId, '--json', '--at', '2026-01-15T10:00:05Z');
  t.is(json.code, 0, json.stderr);
  const h = JSON.parse(json.stdout) as { state: string; events: { type: string }[] };
  t.deepEqual(h.events.map((e) => e.type), ['FlowInitiated', 'BrowserBound']);
  t.is(h.state, 'pending');

  t.is((await flowctl(db, 'history', 'noSuchFlowAnywhere00')).code, 1);
});
