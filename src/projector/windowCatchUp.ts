import type { ProjectionCommit, ProjectionStateStore } from '../store/projectionState/types.js';
import type { LogWindowReader } from '../store/sqlite/logWindowReader.js';
import { toPosition } from '../store/sqlite/toRecordedEvent.js';
import { applyBatch, commitRuntimes } from './applyBatch.js';
import { handledTypesOf } from './definition.js';
import { lowestPosition, type ProjectionRuntime } from './projectionRuntime.js';
import { createSliceDriver } from './sliceDriver.js';

/** Positions read at once: about the projector's apply chunk, so events are handled while young. */
const WINDOW = 2500;

export interface WindowCatchUpOptions {
  reader: LogWindowReader;
  stateStore: ProjectionStateStore;
  /** Opened runtimes (each at its stored checkpoint), all sharing `stateStore`. */
  runtimes: ProjectionRuntime[];
  /** Catch up to this position (the log's head when the catch-up was decided). */
  until: number;
  eventTimeoutMs: number;
  maxCachedPartitions: number;
  /** The longest a commit is put off (the projector's `commitIntervalMs`). */
  commitIntervalMs: number;
  /** Positions per window (default 2500). */
  window?: number;
  /** After every stored commit (progress for the projector's positions and waiters). */
  onCommitted?: (commits: ProjectionCommit[]) => void;
  /** Asked between windows: true ends the catch-up early (after a last commit). */
  stopRequested?: () => boolean;
}

/** How a catch-up ended. `conflict`: another process moved the named checkpoint; nothing more was stored. */
export type WindowCatchUpResult = { kind: 'done' | 'stopped' } | { kind: 'conflict'; projection: string };

/**
 * The event types to read for these runtimes: the union of their handlers, or undefined (every
 * type) when one of them has `$any`. Faulted runtimes read nothing.
 */
export function handledTypes(runtimes: readonly ProjectionRuntime[]): string[] | undefined {
  const types = new Set<string>();
  for (const r of runtimes) {
    const d = r.definition;
    if (r.status !== 'running' || !d?.handlers) continue;
    const handled = handledTypesOf(d);
    if (handled === undefined) return undefined;
    for (const type of handled) types.add(type);
  }
  return [...types].sort();
}

/** One turn of the event loop: requests (or a worker's stop message) get in between. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The lowest position of the running runtimes as a log position (0: from the start); null when none runs. */
export function lowestLogPosition(runtimes: readonly ProjectionRuntime[]): number | null {
  const p = lowestPosition(runtimes);
  return p === undefined ? null : p === null ? 0 : Number(p.commit);
}

/**
 * Catches runtimes up with the log by windows of positions (a {@link LogWindowReader}: only the
 * types they handle are read and decoded), applying each window with the projector's own
 * {@link applyBatch}, and committing states and checkpoints together through the state store
 * once `commitIntervalMs` has passed (or the partition cache is full) and at the end. What a
 * crash leaves is therefore consistent, as on the projector's thread. Catch-up workers run it,
 * and so does the projector's own thread for one group; it needs nothing of a worker.
 */
export async function catchUpByWindows(o: WindowCatchUpOptions): Promise<WindowCatchUpResult> {
  const drive = createSliceDriver();
  let lastCommitAt = performance.now();
  const commit = (): WindowCatchUpResult | null => {
    lastCommitAt = performance.now();
    const outcome = commitRuntimes(o.stateStore, o.runtimes);
    if (outcome.kind === 'conflict') return { kind: 'conflict', projection: outcome.projection };
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'busy') throw new Error('a waiting commit came back busy'); // not reachable: commits here wait
    if (outcome.commits.length > 0) o.onCommitted?.(outcome.commits);
    return null;
  };
  let cursor = lowestLogPosition(o.runtimes);
  while (cursor !== null && cursor < o.until) {
    if (o.stopRequested?.()) {
      return commit() ?? { kind: 'stopped' };
    }
    const { events, through } = o.reader.read(cursor, o.window ?? WINDOW, o.until);
    const retry = applyBatch(o.runtimes, events, drive, o.eventTimeoutMs, toPosition(through));
    // Normally `through`; lower when a runtime went back (a retry, or a reset by the projector
    // while this ran on its thread): re-read from there, the others skip what they applied.
    cursor = retry ? lowestLogPosition(o.runtimes) : Math.min(through, lowestLogPosition(o.runtimes) ?? through);
    let due = performance.now() - lastCommitAt >= o.commitIntervalMs;
    if (!due) for (const r of o.runtimes) if (r.cachedPartitions() > o.maxCachedPartitions) due = true;
    if (due) {
      const ended = commit();
      if (ended) return ended;
    }
    // A turn of the event loop after each window: on the projector's thread requests get in
    // between windows (as between catch-up batches); in a worker, a stop request arrives.
    await turn();
  }
  return commit() ?? { kind: 'done' };
}
