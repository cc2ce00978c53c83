import { getFlowHistory, type FlowHistory } from '../audit/flowHistory.js';
import { loadConfig } from '../config.js';
import { openEventStore } from '../store/openEventStore.js';

const USAGE = 'usage: flowctl history <flowId> [--json] [--at <ISO time>]\n';

/** Control characters in stored strings must not drive the operator's terminal. */
const printable = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** The timeline as aligned text: time, revision, event, actor, state after, redacted data. */
export function formatHistory(h: FlowHistory): string {
  const lines = [
    `flow ${h.flowId}  user ${h.userId ?? '?'}  server ${h.serverName ?? '?'}  state ${h.state}  status ${h.status}`,
    '',
  ];
  const rows = h.events.map((e) => [
    e.at ?? '?',
    e.revision,
    e.type,
    e.actor ?? '?',
    `${e.stateAfter}${e.legal ? '' : ' (!)'}`,
    JSON.stringify(e.data),
  ]);
  const header = ['TIME', 'REV', 'EVENT', 'ACTOR', 'STATE AFTER', 'DATA'];
  const widths = header.slice(0, -1).map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => printable(cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join('  '));
  lines.push(line(header));
  h.events.forEach((e, i) => {
    lines.push(line(rows[i]!));
    if (e.anomaly) lines.push(printable(`    !! ${e.anomaly.kind}: ${e.anomaly.message}`));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * `flowctl history <flowId> [--json] [--at <ISO time>]`. Exit codes: 0 shown, 1 unknown flow
 * (or unknown as of `--at`), 2 bad usage.
 */
export async function run(args: string[]): Promise<number> {
  let json = false;
  let at: Date | undefined;
  let flowId: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--at') {
      const v = args[++i];
      at = v ? new Date(v) : undefined;
      if (!at || Number.isNaN(at.getTime())) {
        process.stderr.write(`flowctl history: --at needs an ISO time, got ${JSON.stringify(v ?? '')}\n${USAGE}`);
        return 2;
      }
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else if (!a.startsWith('-') && flowId === undefined) flowId = a;
    else {
      process.stderr.write(`flowctl history: unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    }
  }
  if (!flowId) {
    process.stderr.write(USAGE);
    return 2;
  }
  const store = await openEventStore(loadConfig().eventStore);
  try {
    const history = await getFlowHistory(store, flowId, at ? { at } : {});
    if (!history) {
      process.stderr.write(`flowctl history: no flow ${JSON.stringify(flowId)}${at ? ` as of ${at.toISOString()}` : ''}\n`);
      return 1;
    }
    process.stdout.write(json ? `${JSON.stringify(history, null, 2)}\n` : formatHistory(history));
    return 0;
  } finally {
    await store.close();
  }
}
