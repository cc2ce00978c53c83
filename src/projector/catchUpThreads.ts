import { inspect } from 'node:util';
import { siblingEntry, startWorker } from '../workerBoot.js';
import type { CatchUpReport, CatchUpStop, CatchUpTake, CatchUpTask } from './catchUpWire.js';
import type { QueryDefinition } from './definition.js';
import type { ProjectionSource } from './projectionRuntime.js';
import type { WindowCatchUpResult } from './windowCatchUp.js';

const ENTRY = siblingEntry('catchUpWorker', import.meta.url);

/** A projection as the grouping sees it. */
export interface GroupCandidate {
  name: string;
  definition: QueryDefinition | undefined;
  /** Estimated catch-up work in any unit (`estimateCatchUpCost`); groups are ranked by it. Default 1. */
  cost?: number;
}

/** Projections reading the same streams read the same rows: one key per selector. */
const selectorKey = (d: QueryDefinition | undefined): string => {
  const s = d?.selector;
  if (!s) return '?';
  if (s.kind === 'all') return 'all';
  return `${s.kind}:${(s.kind === 'categories' ? s.categories : s.streams).slice().sort().join(',')}`;
};

/**
 * Splits projections over at most `threads` workers. Each worker reads the log itself, so
 * projections with the same selector (the same rows) stay together; groups go costliest first
 * to the worker with the least work. When there are fewer groups than workers, the costliest
 * group is halved until every worker has work (or every group is one projection). Costliest
 * first: the caller runs the first group on its own thread, which starts at once while a worker
 * first loads its modules, so the longest share does not wait for that.
 */
export function groupForThreads(candidates: readonly GroupCandidate[], threads: number): string[][] {
  if (candidates.length === 0) return [];
  const costOf = new Map(candidates.map((c) => [c.name, c.cost ?? 1]));
  const cost = (names: readonly string[]): number => names.reduce((sum, n) => sum + costOf.get(n)!, 0);
  const bySelector = new Map<string, string[]>();
  for (const c of candidates) {
    const key = selectorKey(c.definition);
    bySelector.set(key, [...(bySelector.get(key) ?? []), c.name]);
  }
  // Ties (costs of 0 when the sample saw none of a projection's types) go by member count.
  const lighter = (lists: string[][]): string[] =>
    lists.reduce((best, l) => (cost(l) < cost(best) || (cost(l) === cost(best) && l.length < best.length) ? l : best));
  const costliestFirst = (a: string[], b: string[]): number => cost(b) - cost(a) || b.length - a.length || (a[0]! < b[0]! ? -1 : 1);
  const groups = [...bySelector.values()];
  const slots = Math.max(1, Math.min(threads, candidates.length));
  while (groups.length < slots) {
    groups.sort((a, b) => (b.length > 1 ? 1 : 0) - (a.length > 1 ? 1 : 0) || costliestFirst(a, b));
    const largest = groups.shift()!;
    if (largest.length < 2) {
      groups.unshift(largest);
      break;
    }
    // Costliest first, each member to the lighter half (fewer members on a tie).
    const halves: [string[], string[]] = [[], []];
    for (const m of [...largest].sort((a, b) => costOf.get(b)! - costOf.get(a)!)) lighter(halves).push(m);
    groups.push(...halves);
  }
  groups.sort(costliestFirst);
  const workers: string[][] = Array.from({ length: Math.min(slots, groups.length) }, () => []);
  for (const g of groups) lighter(workers).push(...g);
  return workers.filter((w) => w.length > 0).sort(costliestFirst);
}

export interface CatchUpThreadsOptions extends Omit<CatchUpTask, 'projections'> {
  /** One list of projection files per worker. */
  groups: ProjectionSource[][];
  /** A worker stored a commit for these projections (their checkpoints moved). */
  onCommitted: (projections: Array<{ name: string; handled: number }>) => void;
  /**
   * A worker finished its share (`done`) while others may still be busy: the projections it
   * should take over now (their checkpoints stored, no longer applied by the caller), or
   * nothing (the worker ends).
   */
  onIdle?: () => ProjectionSource[] | undefined;
  log: (message: string) => void;
}

/** How the workers ended: `failed` when one could not run (it stored nothing more). */
export type CatchUpThreadsOutcome = WindowCatchUpResult['kind'] | 'failed';

export interface CatchUpThreads {
  /** Resolves once every worker has exited, with the worst outcome among them. */
  readonly ended: Promise<CatchUpThreadsOutcome>;
  /** Asks every worker to commit what it applied and end. */
  stop(): void;
}

/** Outcomes from best to worst (several workers end with the worst of theirs). */
const CATCH_UP_RANK: Readonly<Record<CatchUpThreadsOutcome, number>> = { done: 0, stopped: 1, conflict: 2, failed: 3 };

/** An error from a worker: one of a class the structured clone does not know (SqliteError) arrives as a plain object. */
const describe = (err: unknown): string => (err instanceof Error ? err.message : inspect(err, { depth: 2, breakLength: Infinity }));

/** The worse of two outcomes. */
export const worseOutcome = (a: CatchUpThreadsOutcome, b: CatchUpThreadsOutcome): CatchUpThreadsOutcome => (CATCH_UP_RANK[b] > CATCH_UP_RANK[a] ? b : a);

/**
 * Runs a catch-up over the SQLite log in worker threads, one per group of projections (see
 * `catchUpWorker.ts`). Each worker commits its own projections' states and checkpoints
 * together in its own transactions, so the guarantee of the state store holds per projection
 * whichever thread wrote it; the projector follows their checkpoints as they are reported.
 */
export function startCatchUpThreads(o: CatchUpThreadsOptions): CatchUpThreads {
  const { groups, onCommitted, onIdle, log, ...task } = o;
  let stopping = false;
  const workers = groups.map((projections) => startWorker(ENTRY, { ...task, projections }));
  const ended = Promise.all(
    workers.map(
      (worker) =>
        new Promise<CatchUpThreadsOutcome>((resolve) => {
          let outcome: CatchUpThreadsOutcome | undefined;
          worker.on('message', (m: CatchUpReport) => {
            if (m.kind === 'committed') onCommitted(m.projections);
            else if (m.kind === 'log') log(m.message);
            else {
              outcome = worseOutcome(outcome ?? 'done', m.result.kind);
              if (m.result.kind === 'conflict') log(`a catch-up worker stopped: another process moved the checkpoint of ${JSON.stringify(m.result.projection)}`);
              // A worker that finished its share waits for this answer: more work, or the end.
              if (m.result.kind === 'done') {
                let more: ProjectionSource[] | undefined;
                try {
                  more = stopping ? undefined : onIdle?.();
                } catch (err) {
                  log(`cannot hand projections to a catch-up worker: ${describe(err)}`);
                } finally {
                  worker.postMessage(more && more.length > 0 ? ({ kind: 'take', projections: more } satisfies CatchUpTake) : ({ kind: 'stop' } satisfies CatchUpStop));
                }
              }
            }
          });
          worker.on('error', (err) => {
            outcome = 'failed';
            log(`a catch-up worker failed: ${describe(err)}`);
          });
          // A worker that ends abnormally without an error event (during a share taken over) failed too.
          worker.on('exit', (code) => resolve(code === 0 ? (outcome ?? 'failed') : 'failed'));
        }),
    ),
  ).then((outcomes) => outcomes.reduce(worseOutcome, 'done'));
  return {
    ended,
    stop: () => {
      stopping = true;
      for (const w of workers) w.postMessage({ kind: 'stop' } satisfies CatchUpStop);
    },
  };
}
