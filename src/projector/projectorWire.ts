import type { WireError } from '../store/sqlite/writerWire.js';
import type { SqliteStoreOptions } from '../store/sqlite/sqliteOptions.js';
import type { ProjectionProgressInfo, StartProjectorOptions } from './projector.js';
import type { ProjectionSource } from './projectionRuntime.js';

/** The options of `startProjector` a projector thread is started with. */
export const TUNING_KEYS = ['batchSize', 'commitIntervalMs', 'liveCommitIntervalMs', 'catchUpThreads', 'threadedCatchUpFrom', 'eventTimeoutMs', 'maxCachedPartitions'] as const;

/** The projector's tuning, as a projector thread is started with it. */
export type ProjectorTuning = Pick<StartProjectorOptions, (typeof TUNING_KEYS)[number]>;

/** What a projector thread is started with (`workerData`). */
export interface ProjectorTask {
  /** The event log the thread reads on a connection of its own (it never appends). */
  store: SqliteStoreOptions;
  /** The projection state store (`openProjectionState` connection string). */
  stateConnection: string;
  projections: ProjectionSource[];
  tuning: ProjectorTuning;
  /** Rebuilds asked for so far, by projection (see `epoch` below). */
  epochs: Record<string, number>;
}

/** Projector → thread. */
export type ProjectorCall =
  | { kind: 'call'; id: number; op: 'getState' | 'getResult'; name: string; partition: string | undefined }
  /**
   * `epoch`: the projector's count of rebuilds of `name`, this one included. Progress the
   * thread reported before it took the rebuild carries the older count and is ignored: it
   * would put back the position the rebuild is about to redo.
   */
  | { kind: 'call'; id: number; op: 'rebuild'; name: string; epoch: number }
  /** Commit what is applied, close the thread's stores, answer; the projector then ends the thread. */
  | { kind: 'call'; id: number; op: 'stop' }
  /** The writer has just committed: look at the log now, not at the next poll. */
  | { kind: 'poke' };

/** Thread → projector. */
export type ProjectorReport =
  | { kind: 'progress'; projections: ProjectionProgressInfo[]; epochs: Record<string, number> }
  | { kind: 'ready' }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: WireError }
  | { kind: 'log'; level: 'info' | 'warn' | 'error' | 'debug'; obj: object; msg: string | undefined };
