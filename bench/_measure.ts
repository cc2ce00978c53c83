/** Shared helpers for bench modules: median-of-runs timing and a plain-text table. */

export interface Measured {
  /** Items per second, median of the measured runs. */
  perSecond: number;
  runs: number[];
}

/**
 * Runs `once` `warmUp + runs` times and keeps the median rate of the measured runs: single runs
 * move by ±25% on shared VMs (perf-anchors.md), medians much less. `once` returns how many items
 * it processed and the seconds its timed part took, so set-up stays outside the timing.
 */
export async function measure(once: Once, runs = 3, warmUp = 1): Promise<Measured> {
  const rates: number[] = [];
  for (let i = 0; i < warmUp + runs; i++) {
    const { items, seconds } = await once();
    if (i >= warmUp) rates.push(items / seconds);
  }
  return median(rates);
}

export type Once = () => Promise<{ items: number; seconds: number }>;

/**
 * Measures two contenders in alternation (a, b, a, b, …): on a shared machine the load drifts
 * during a run, and alternating exposes both sides to the same drift, which keeps their ratio
 * honest even when the absolute figures move.
 */
export async function measurePair(a: Once, b: Once, runs = 3, warmUp = 1): Promise<[Measured, Measured]> {
  const rates: [number[], number[]] = [[], []];
  for (let i = 0; i < warmUp + runs; i++) {
    for (const [side, once] of [a, b].entries()) {
      const { items, seconds } = await once();
      if (i >= warmUp) rates[side]!.push(items / seconds);
    }
  }
  return [median(rates[0]), median(rates[1])];
}

function median(rates: number[]): Measured {
  const sorted = [...rates].sort((x, y) => x - y);
  return { perSecond: sorted[Math.floor(sorted.length / 2)]!, runs: rates };
}

/** Seconds taken by `fn`. */
export async function timed(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return elapsedSince(start);
}

export function elapsedSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Runs `step(i)` up to `max` times or until `budgetSeconds` have passed (checked every 16
 * steps), so a slow disk cannot stretch a run; returns the steps done and the time they took.
 */
export async function boundedLoop(
  max: number,
  budgetSeconds: number,
  step: (i: number) => unknown,
): Promise<{ items: number; seconds: number }> {
  const start = process.hrtime.bigint();
  let i = 0;
  while (i < max && ((i & 15) !== 0 || elapsedSince(start) < budgetSeconds)) {
    const pending = step(i++);
    if (pending instanceof Promise) await pending; // sync steps (the raw baseline) pay no await
  }
  return { items: i, seconds: elapsedSince(start) };
}

export function formatRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
