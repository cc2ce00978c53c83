import type { ReplayProgress } from '../audit/replay.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * One progress line: bar, fraction, rate and ETA. The fraction compares the last position
 * read with the head of `$all` at the start; positions are row numbers on SQLite and byte
 * offsets on EventStoreDB, so it is exact on the first and close enough on the second.
 */
export function formatProgress(p: ReplayProgress, barWidth = 24): string {
  const head = p.head ? Number(p.head.commit) : 0;
  const at = p.position ? Number(p.position.commit) : 0;
  const fraction = p.done ? 1 : head > 0 ? Math.min(1, at / head) : 0;
  const rate = p.elapsedMs > 0 ? (p.events * 1000) / p.elapsedMs : 0;
  const etaMs = fraction > 0 && fraction < 1 ? (p.elapsedMs * (1 - fraction)) / fraction : 0;
  const filled = Math.round(fraction * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  return `${bar} ${(fraction * 100).toFixed(1).padStart(5)}%  ${fmt(p.events)} events  ${fmt(rate)} ev/s  ${p.done ? `took ${duration(p.elapsedMs)}` : `ETA ${duration(etaMs)}`}  open flows ${fmt(p.openFlows)}  anomalies ${fmt(p.anomalies)}`;
}

/**
 * Writes progress to stderr (stdout stays for results): a bar redrawn in place on a
 * terminal, or a plain line every few seconds when piped into a log.
 */
export function progressReporter(out: NodeJS.WriteStream = process.stderr): (p: ReplayProgress) => void {
  const tty = Boolean(out.isTTY);
  const interval = tty ? 100 : 5_000;
  let last = -Infinity;
  return (p) => {
    const now = performance.now();
    if (!p.done && now - last < interval) return;
    last = now;
    if (tty) out.write(`\r\x1b[2K${formatProgress(p, Math.max(10, Math.min(30, (out.columns ?? 100) - 90)))}${p.done ? '\n' : ''}`);
    else out.write(`replay: ${formatProgress(p)}\n`);
  };
}
