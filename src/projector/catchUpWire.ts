import type { ProjectionSource } from './projectionRuntime.js';
import type { WindowCatchUpResult } from './windowCatchUp.js';

/** What a catch-up worker is started with (`workerData`). */
export interface CatchUpTask {
  /** The SQLite event log file. */
  eventsPath: string;
  /** The SQLite file of the projection states (beside the log: `projectionStatePath`). */
  statePath: string;
  projections: ProjectionSource[];
  /** Catch up to this log position. */
  until: number;
  eventTimeoutMs: number;
  maxCachedPartitions: number;
  commitIntervalMs: number;
}

/** Worker → projector. */
export type CatchUpReport =
  | { kind: 'committed'; projections: Array<{ name: string; handled: number }> }
  | { kind: 'ended'; result: WindowCatchUpResult }
  | { kind: 'log'; message: string };

/** Projector → worker: commit what is applied and end (also the answer "nothing more" to an idle worker). */
export interface CatchUpStop {
  kind: 'stop';
}

/**
 * Projector → worker, the answer to its `ended` report with `done`: catch these projections up
 * to the same `until` as well, from their stored checkpoints (the projector stored them and
 * stopped applying events to them first).
 */
export interface CatchUpTake {
  kind: 'take';
  projections: ProjectionSource[];
}
