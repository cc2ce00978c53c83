/**
 * Child process of bench/replay.ts: one replay (or the bare scan baseline) over a SQLite file,
 * in a fresh process so that its peak RSS (`maxRSS`) belongs to that run alone. Prints JSON.
 *
 *   node --import tsx bench/_replayChild.ts <replay|scan> <db path>
 */
import { replayAll } from '../src/audit/replay.js';
import { openEventStore } from '../src/store/openEventStore.js';

const [mode, path] = process.argv.slice(2);
const store = await openEventStore(`sqlite:${path}`);
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
let events = 0;
let anomalies = 0;
let maxOpen = 0;
if (mode === 'scan') {
  // The floor: the store's paged read and JSON.parse, nothing folded.
  for await (const e of store.readAll()) if (e.type) events++;
} else {
  const r = await replayAll(store, { progressEvery: 5_000, onProgress: (p) => (maxOpen = Math.max(maxOpen, p.openFlows)) });
  events = r.events;
  anomalies = r.anomalies;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
// CPU time as well as wall time: on a shared machine it is the steadier of the two.
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
await store.close();
process.stdout.write(`${JSON.stringify({ mode, events, anomalies, seconds, cpuSeconds, maxOpen, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
