import type { ProjectionCommit, ProjectionStateStore } from '../store/projectionState/types.js';
import { CheckpointConflictError, StateStoreBusyError } from '../store/projectionState/types.js';
import type { Position, RecordedEvent } from '../store/types.js';
import { categoriesOf } from './eventFilter.js';
import type { ProjectionRuntime } from './projectionRuntime.js';
import type { Drive, SliceJob } from './sliceDriver.js';

/** Freezes an event's payload so that one projection's handler cannot change what the next one sees. */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const v = (value as Record<string, unknown>)[keys[i]!];
    // Most fields are strings and numbers: no call for them.
    if (v !== null && typeof v === 'object') deepFreeze(v);
  }
}


/**
 * Applies a batch (in position order) to every runtime's memory, no commit: each runtime takes
 * the events after its own position that it reads, all projections' guest loops run in slices
 * of the driver, slow or failing ones fault alone. `through`, when given, is where the batch
 * ends even if its last event is earlier (events were skipped before decoding: positions still
 * move past them). The same code runs on the projector's thread and in catch-up workers.
 *
 * Returns true when a runtime went back to its checkpoint without a fault (the watchdog fired
 * while the machine was busy): the caller must re-read from the lowest position.
 */
export function applyBatch(runtimes: Iterable<ProjectionRuntime>, batch: RecordedEvent[], drive: Drive, eventTimeoutMs: number, through?: Position): boolean {
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i]!;
    deepFreeze(e.data);
    deepFreeze(e.metadata);
  }
  const categories = categoriesOf(batch);
  const jobs: SliceJob[] = [];
  const owners: ProjectionRuntime[] = [];
  for (const r of runtimes) {
    const job = r.prepare(batch, categories, through);
    if (job) {
      jobs.push(job);
      owners.push(r);
    }
  }
  let retry = false;
  while (jobs.length > 0) {
    const result = drive(jobs, eventTimeoutMs * 2);
    if (result.kind === 'done') break;
    if (result.kind === 'slow') {
      if (owners[result.job]!.slowSlice(result.cpuUsedMs) === 'faulted') jobs[result.job]!.done = true;
    } else if (result.kind === 'error') {
      if (owners[result.job]!.failedSlice(result.error, result.timedOut, result.cpuUsedMs) === 'retry') retry = true;
    }
  }
  for (const r of owners) r.finishBatch();
  return retry;
}

/** What {@link commitRuntimes} did. */
export type CommitOutcome =
  | { kind: 'stored'; commits: ProjectionCommit[] }
  | { kind: 'conflict'; projection: string }
  | { kind: 'busy' }
  | { kind: 'failed'; error: unknown };

/**
 * Persists what changed in the runtimes (partition states and checkpoints) in one transaction
 * of the state store, and tells each runtime what was stored. `conflict`: another process (or
 * thread) moved one of the checkpoints, nothing was stored; `busy` (only with `wait: false`):
 * another connection held the write lock, nothing was stored and memory stays ahead; `failed`:
 * storage trouble, nothing was stored and memory stays ahead.
 */
export function commitRuntimes(stateStore: ProjectionStateStore, runtimes: Iterable<ProjectionRuntime>, options?: { wait?: boolean }): CommitOutcome {
  const byName = new Map<string, ProjectionRuntime>();
  const commits: ProjectionCommit[] = [];
  for (const r of runtimes) {
    const c = r.pendingCommit();
    if (c === null) continue;
    commits.push(c);
    byName.set(c.name, r);
  }
  if (commits.length === 0) return { kind: 'stored', commits };
  try {
    stateStore.commit(commits, options);
  } catch (err) {
    if (err instanceof CheckpointConflictError) return { kind: 'conflict', projection: err.projection };
    if (err instanceof StateStoreBusyError) return { kind: 'busy' };
    return { kind: 'failed', error: err };
  }
  for (const c of commits) byName.get(c.name)!.committed(c);
  return { kind: 'stored', commits };
}
