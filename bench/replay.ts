/**
 * Audit replay: `flowctl replay --all` over a large log (events/s and peak RSS at two log
 * sizes, to show memory does not grow with the log) and single-flow `history` latency (p99).
 * Targets (issue 6): >= 100k events/s, peak RSS < 300 MB whatever the log size.
 *
 * Logs are generated (untimed) from the golden `success` history as templates: ~7 events per
 * flow across flow, connection, grant and client streams, 1,000 flows in flight at a time so
 * the verifier holds realistic interleavings. Each replay runs in a child process so its
 * maxRSS is its own. The ratio column compares with a bare `readAll` scan (store + JSON.parse)
 * of the same file in the same run, each the best of `BENCH_REPEAT` alternating runs (peak
 * RSS the highest). `BENCH_EVENTS` (default 1,000,000) sets the large size; the small one is a
 * quarter of it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFlowHistory } from '../src/audit/flowHistory.js';
import { connectionStream, flowStream, grantStream } from '../src/flow/streams.js';
import { openEventStore } from '../src/store/openEventStore.js';
import type { EventData, EventStore } from '../src/store/types.js';
import { loadGolden } from '../test/support/goldenLog.js';
import { formatRate, printTable } from './_measure.js';

const IN_FLIGHT = 1_000;
const HISTORY_SAMPLES = 2_000;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface ChildResult {
  mode: string;
  events: number;
  anomalies: number;
  seconds: number;
  maxOpen: number;
  maxRssMb: number;
}

/**
 * Per flow: connection claim, flow start batch (initiated, client reused, second tab), grant,
 * flow end batch (exchange claim, completed): 7 events in 4 appends. The grant precedes the
 * claim in `$all` here, unlike the engine; replay judges each stream on its own, so it does
 * not mind, and fewer appends keep generation bearable.
 */
function templates() {
  const log = loadGolden('success');
  const reused = loadGolden('expired').events.find((e) => e.type === 'ClientReused')!;
  const of = (type: string) => [...log.events, reused].find((e) => e.type === type)!;
  const ev = (type: string, patch: Record<string, unknown> = {}): EventData => {
    const t = of(type);
    return { type, data: { ...(t.data as object), ...patch }, metadata: t.metadata };
  };
  return { ev, client: log.events.filter((e) => e.stream.startsWith('client-')) };
}

export async function generate(path: string, target: number): Promise<{ events: number; flowIds: string[] }> {
  const store = await openEventStore(`sqlite:${path}?synchronous=normal`);
  const { ev, client } = templates();
  for (const c of client) await store.appendToStream(c.stream, { type: c.type, data: c.data, metadata: c.metadata });
  let events = client.length;
  const flowIds: string[] = [];
  for (let group = 0; events < target; group++) {
    const ids = Array.from({ length: IN_FLIGHT }, (_, i) => `bench${String(group * IN_FLIGHT + i).padStart(16, '0')}`);
    const user = (id: string) => `user-${Number(id.slice(5)) % 50_000}`;
    for (const id of ids) {
      await store.appendToStream(connectionStream(user(id), 'golden'), ev('ConnectionAttemptStarted', { flowId: id, userId: user(id) }));
      await store.appendToStream(flowStream(id), [ev('FlowInitiated', { flowId: id, userId: user(id) }), ev('ClientReused'), ev('BrowserBound')], { expectedRevision: 'no_stream' });
    }
    for (const id of ids) {
      await store.appendToStream(grantStream(user(id), 'golden'), ev('TokensIssued', { flowId: id, userId: user(id) }));
      await store.appendToStream(flowStream(id), [ev('CodeExchangeStarted'), ev('FlowCompleted')], { expectedRevision: 2n });
    }
    events += IN_FLIGHT * 7;
    flowIds.push(...ids.filter((_, i) => i % 97 === 0));
  }
  await store.close();
  return { events, flowIds };
}

function child(mode: 'replay' | 'scan', path: string): ChildResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/_replayChild.ts', mode, path], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

/**
 * Scan and replay alternately, `BENCH_REPEAT` times each (default 3), keeping each one's
 * fastest run and highest RSS: on a shared machine a single run measures the neighbours as
 * much as the code, and alternating exposes both to the same conditions.
 */
function bestOf(path: string, events: number): { scan: ChildResult; replay: ChildResult } {
  const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
  let scan: ChildResult | undefined;
  let replay: ChildResult | undefined;
  const better = (a: ChildResult | undefined, b: ChildResult): ChildResult =>
    a === undefined ? b : { ...(b.seconds < a.seconds ? b : a), maxRssMb: Math.max(a.maxRssMb, b.maxRssMb) };
  for (let i = 0; i < repeat; i++) {
    scan = better(scan, child('scan', path));
    const r = child('replay', path);
    if (r.anomalies !== 0 || r.events !== events) throw new Error(`bench log replayed with ${r.anomalies} anomalies / ${r.events} events`);
    replay = better(replay, r);
  }
  return { scan: scan!, replay: replay! };
}

async function historyP99(store: EventStore, flowIds: string[]): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < HISTORY_SAMPLES + 200; i++) {
    const id = flowIds[(i * 7919) % flowIds.length]!;
    const start = performance.now();
    const h = await getFlowHistory(store, id);
    if (!h || h.state !== 'completed') throw new Error(`bench history of ${id} is wrong`);
    if (i >= 200) times.push(performance.now() - start); // the first 200 warm the JIT
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

export async function run(): Promise<void> {
  const large = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const sizes = [Math.floor(large / 4), large];
  // tmpfs when there is one: generation is ~10k appends/s there against ~3k on a VM disk.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'flow-bench-replay-'));
  try {
    const rows: string[][] = [];
    let history: { p50: number; p99: number } | undefined;
    for (const size of sizes) {
      const path = join(dir, `log-${size}.db`);
      const genStart = performance.now();
      const { events, flowIds } = await generate(path, size);
      console.log(`generated ${formatRate(events)} events in ${((performance.now() - genStart) / 1000).toFixed(1)} s (untimed)`);
      const { scan, replay } = bestOf(path, events);
      rows.push([
        formatRate(events),
        formatRate(replay.events / replay.seconds),
        formatRate(scan.events / scan.seconds),
        `${((replay.events / replay.seconds) / (scan.events / scan.seconds)).toFixed(2)}x`,
        replay.maxRssMb.toFixed(0),
        scan.maxRssMb.toFixed(0),
        formatRate(replay.maxOpen),
      ]);
      if (!history) {
        const store = await openEventStore(`sqlite:${path}`);
        history = await historyP99(store, flowIds);
        await store.close();
      }
    }
    printTable(['log events', 'replay --all ev/s', 'bare scan ev/s', 'replay/scan', 'replay peak RSS MB', 'scan peak RSS MB', 'max flows held'], rows);
    console.log(`\nsingle-flow history (4 events, ${formatRate(sizes[0]!)}-event log): p50 ${history!.p50.toFixed(3)} ms, p99 ${history!.p99.toFixed(3)} ms over ${HISTORY_SAMPLES} reads`);
    console.log('targets: replay >= 100,000 events/s; peak RSS < 300 MB at every size');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
