import { EngineError, ErrorCode, quote } from '../errors.js';
import type { Position } from '../store/types.js';
import { positionAfter } from './projectionRuntime.js';

/** Where a projection is, as far as waiting on it goes. */
export interface ProjectionProgress {
  status: 'running' | 'faulted';
  reason: string | null;
  /** Last event position applied. */
  position: Position | null;
}

/** Callers waiting for projections to reach a log position (read-your-writes). */
export interface PositionWaiters {
  /**
   * Resolves once every named projection has applied `target`; rejects with
   * `projection_faulted` when one of them is faulted (unless `ignoreFaulted`: a faulted one is
   * then skipped) and with `store_unavailable` after `timeoutMs` (Infinity: no limit).
   */
  wait(target: Position, timeoutMs: number, names: readonly string[], ignoreFaulted?: boolean): Promise<void>;
  /** Checks every waiter against the projections' progress now; call after each change of it. */
  settle(): void;
  /** Rejects every waiter with `err` (the projector stopped). */
  failAll(err: unknown): void;
}

interface Waiter {
  target: Position;
  names: readonly string[];
  ignoreFaulted: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The waiters of a projector, over `progressOf` (the projector's own runtimes, or the mirror
 * of a projector thread's reports): one set of rules wherever the projections run.
 */
export function createPositionWaiters(progressOf: (name: string) => ProjectionProgress): PositionWaiters {
  const waiters = new Set<Waiter>();

  const finish = (w: Waiter, err?: unknown): void => {
    if (!waiters.delete(w)) return;
    if (w.timer) clearTimeout(w.timer);
    if (err === undefined) w.resolve();
    else w.reject(err);
  };

  const settle = (): void => {
    for (const w of waiters) {
      let done = true;
      for (const name of w.names) {
        const p = progressOf(name);
        if (p.status === 'faulted') {
          if (w.ignoreFaulted) continue;
          finish(w, new EngineError(ErrorCode.PROJECTION_FAULTED, `Projection ${quote(name)} is faulted: ${p.reason}`, { details: { projection: name } }));
          done = false;
          break;
        }
        if (p.position === null || positionAfter(w.target, p.position)) done = false;
      }
      if (done) finish(w);
    }
  };

  return {
    wait: (target, timeoutMs, names, ignoreFaulted = false) =>
      new Promise<void>((resolve, reject) => {
        const w: Waiter = { target, names, ignoreFaulted, resolve, reject, timer: undefined };
        waiters.add(w);
        if (Number.isFinite(timeoutMs)) {
          w.timer = setTimeout(
            () => finish(w, new EngineError(ErrorCode.STORE_UNAVAILABLE, `Projections did not reach position ${target.commit} within ${timeoutMs} ms`, { details: { projections: names } })),
            timeoutMs,
          );
        }
        settle();
      }),
    settle,
    failAll: (err) => {
      for (const w of waiters) finish(w, err);
    },
  };
}
