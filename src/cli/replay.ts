import type { Anomaly } from '../audit/anomaly.js';
import { replayAll, replayFlow, type ReplayAllResult } from '../audit/replay.js';
import { loadConfig } from '../config.js';
import { openEventStore } from '../store/openEventStore.js';
import { progressReporter } from './progressReporter.js';

const USAGE = 'usage: flowctl replay <flowId> | --all [--json] [--quiet]\n';
/** Anomalies printed one by one; the rest are only counted (the summary has every kind). */
const PRINT_LIMIT = 1_000;

const printable = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
export const formatAnomaly = (a: Anomaly): string => printable(`ANOMALY ${a.kind} ${a.stream}@${a.revision} ${a.type}: ${a.message}`);

/** The end-of-run summary as text. */
export function formatSummary(r: ReplayAllResult): string {
  const ended = Object.entries(r.flows.ended).map(([s, n]) => `${s} ${n}`).join(', ') || 'none';
  const kinds = Object.entries(r.anomaliesByKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const secs = r.elapsedMs / 1000;
  return [
    `events      ${r.events} (${Object.entries(r.byCategory).map(([c, n]) => `${c} ${n}`).join(', ')})`,
    `flows       ${r.flows.started} started; ended: ${ended}; still open ${r.flows.open}`,
    `rate        ${Math.round(r.events / Math.max(secs, 1e-9))} events/s over ${secs.toFixed(2)} s${r.rebuilds ? `; ${r.rebuilds} flow(s) re-read` : ''}`,
    `anomalies   ${r.anomalies}${kinds ? ` (${kinds})` : ''}`,
    r.anomalies === 0 ? 'OK: every stored transition is legal' : 'FAILED: the log holds anomalies (listed above)',
  ].join('\n');
}

/**
 * `flowctl replay <flowId>` and `flowctl replay --all`: fold flows through the machine and
 * verify every stored transition. Exit codes: 0 clean, 1 anomalies found (or unknown flow),
 * 2 bad usage.
 */
export async function run(args: string[]): Promise<number> {
  const all = args.includes('--all');
  const json = args.includes('--json');
  const quiet = args.includes('--quiet');
  const rest = args.filter((a) => !['--all', '--json', '--quiet'].includes(a));
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ((all && rest.length > 0) || (!all && (rest.length !== 1 || rest[0]!.startsWith('-')))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const store = await openEventStore(loadConfig().eventStore);
  try {
    if (!all) {
      const flowId = rest[0]!;
      const r = await replayFlow(store, flowId);
      if (!r) {
        process.stderr.write(`flowctl replay: no flow ${JSON.stringify(flowId)}\n`);
        return 1;
      }
      if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        for (const a of r.anomalies) process.stdout.write(`${formatAnomaly(a)}\n`);
        process.stdout.write(`flow ${r.flowId}: ${r.events} events, state ${r.state}, status ${r.status}${r.error ? `, error ${r.error}` : ''}; anomalies ${r.anomalies.length}\n`);
      }
      return r.anomalies.length ? 1 : 0;
    }
    let printed = 0;
    const result = await replayAll(store, {
      ...(quiet ? {} : { onProgress: progressReporter() }),
      onAnomaly: json
        ? undefined
        : (a) => {
            if (printed++ < PRINT_LIMIT) process.stdout.write(`${formatAnomaly(a)}\n`);
          },
    });
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      if (printed > PRINT_LIMIT) process.stdout.write(`... ${printed - PRINT_LIMIT} more anomalies not listed\n`);
      process.stdout.write(`${formatSummary(result)}\n`);
    }
    return result.anomalies ? 1 : 0;
  } finally {
    await store.close();
  }
}
