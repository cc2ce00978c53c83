import type { Position } from '../types.js';

/** Whether a projection runs or stopped on an error it reported. */
export type ProjectionRunStatus = 'running' | 'faulted';

/** What is persisted about a projection besides its partition states. */
export interface StoredCheckpoint {
  /** Last event position whose effects are in the stored states; null = nothing handled yet. */
  position: Position | null;
  /** Hash of the projection source the states were computed with (a change means rebuild). */
  sourceHash: string;
  status: ProjectionRunStatus;
  /** Why it faulted (handler error, time limit), null when running. */
  reason: string | null;
}

/** One projection's share of an atomic commit. */
export interface ProjectionCommit {
  name: string;
  /**
   * The checkpoint position this commit builds on. A store holding another one means a
   * different process advanced the projection meanwhile: the whole commit is refused.
   */
  expected: Position | null;
  checkpoint: StoredCheckpoint;
  /** Partition states (JSON text) changed since the last commit; `''` is the whole-projection partition. */
  partitions: Array<[partition: string, stateJson: string]>;
}

/**
 * Where the embedded projector keeps projection states and checkpoints. Every method is
 * synchronous: the projector's hot loop never awaits storage, and both implementations
 * (better-sqlite3, memory) answer synchronously anyway.
 *
 * The one guarantee everything rests on: `commit` stores the partition states and the
 * checkpoint of every projection in it together or not at all, so a crash at any moment
 * leaves states that correspond exactly to their checkpoint (no event skipped or applied twice).
 */
export interface ProjectionStateStore {
  /**
   * The SQLite file holding the states, when there is one: another thread can open it on a
   * connection of its own and commit there (the projector's catch-up workers). Absent for
   * in-memory stores, whose states only this thread can reach.
   */
  readonly path?: string;
  readCheckpoint(name: string): StoredCheckpoint | undefined;
  readState(name: string, partition: string): string | undefined;
  /** Partition names of a projection (for the CLI), sorted. */
  listPartitions(name: string): string[];
  /** Names that have a checkpoint. */
  listProjections(): string[];
  /**
   * Atomic; throws {@link CheckpointConflictError} (storing nothing) when an `expected` does not
   * match. With `wait: false` it never waits for another connection's write lock: it throws
   * {@link StateStoreBusyError} (storing nothing) instead, so a caller on the event loop can
   * retry later rather than block it.
   */
  commit(commits: ProjectionCommit[], options?: { wait?: boolean }): void;
  /** Forgets a projection's states and checkpoint (rebuild from zero), atomically. */
  reset(name: string): void;
  close(): void;
}

/** A commit that was not to wait found the store's write lock taken; nothing was stored. */
export class StateStoreBusyError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The projection state store is locked by another writer', options);
    this.name = 'StateStoreBusyError';
  }
}

/** Another process moved a projection's checkpoint since this one read it. */
export class CheckpointConflictError extends Error {
  constructor(readonly projection: string) {
    super(`The checkpoint of projection ${JSON.stringify(projection)} was moved by another process`);
    this.name = 'CheckpointConflictError';
  }
}

export const samePosition = (a: Position | null, b: Position | null): boolean =>
  a === null || b === null ? a === b : a.commit === b.commit && a.prepare === b.prepare;
