/** Shared helpers for bench modules: timing with wall and CPU clocks, medians, a text table. */

/** What one timed run did: items processed, wall seconds and (optionally) CPU seconds of its timed part. */
export interface Run {
  items: number;
  seconds: number;
  cpuSeconds?: number;
}

export type Once = () => Promise<Run>;

export interface Measured {
  /** Items per wall-clock second, median of the measured runs. */
  perSecond: number;
  /** Wall-clock rate of each measured run, in run order. */
  runs: number[];
  /**
   * Items per CPU second of this process, median: steadier than wall time on a busy machine.
   * NaN when the runs did not report CPU time.
   */
  perCpuSecond: number;
}

function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Starts both clocks; call the result to read what the timed part took. */
export function stopwatch(): () => { seconds: number; cpuSeconds: number } {
  const wall = process.hrtime.bigint();
  const cpu = cpuNow();
  return () => ({ seconds: Number(process.hrtime.bigint() - wall) / 1e9, cpuSeconds: cpuNow() - cpu });
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function summarise(runs: Run[]): Measured {
  const rates = runs.map((r) => r.items / r.seconds);
  return {
    perSecond: median(rates),
    runs: rates,
    perCpuSecond: runs.every((r) => r.cpuSeconds !== undefined)
      ? median(runs.map((r) => r.items / Math.max(r.cpuSeconds!, 1e-6)))
      : Number.NaN,
  };
}

/** Median of `runs` runs after `warmUp` discarded ones (single runs move by ±25%, perf-anchors.md). */
export async function measure(once: Once, runs = 3, warmUp = 1): Promise<Measured> {
  const kept: Run[] = [];
  for (let i = 0; i < warmUp + runs; i++) {
    const run = await once();
    if (i >= warmUp) kept.push(run);
  }
  return summarise(kept);
}

/**
 * Measures contenders in alternation (a, b, c, a, b, c, …): on a shared machine the load drifts
 * during a run, and an in-process peer (an authorization server) warms up and accumulates state
 * as runs go by; alternating exposes every contender to the same drift, which keeps their ratios
 * honest even when the absolute figures move.
 */
export async function measureAlternating(contenders: readonly Once[], runs = 3, warmUp = 1): Promise<Measured[]> {
  const kept: Run[][] = contenders.map(() => []);
  for (let i = 0; i < warmUp + runs; i++) {
    for (const [side, once] of contenders.entries()) {
      const run = await once();
      if (i >= warmUp) kept[side]!.push(run);
    }
  }
  return kept.map(summarise);
}

/** {@link measureAlternating} for two contenders. */
export async function measurePair(a: Once, b: Once, runs = 3, warmUp = 1): Promise<[Measured, Measured]> {
  const [ma, mb] = await measureAlternating([a, b], runs, warmUp);
  return [ma!, mb!];
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
 * steps), so a slow disk cannot stretch a run. Synchronous steps (a raw baseline) pay no await.
 */
export async function boundedLoop(max: number, budgetSeconds: number, step: (i: number) => unknown): Promise<Run> {
  const stop = stopwatch();
  const start = process.hrtime.bigint();
  let i = 0;
  while (i < max && ((i & 15) !== 0 || elapsedSince(start) < budgetSeconds)) {
    const pending = step(i++);
    if (pending instanceof Promise) await pending;
  }
  return { items: i, ...stop() };
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
