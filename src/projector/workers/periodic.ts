import { silentLogger, type Logger } from '../../flow/deps.js';

/** A worker that acts on projection decisions, once per tick. */
export interface Worker {
  /** Runs one pass now; resolves to the number of events it appended. Passes never overlap. */
  tick(): Promise<number>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** Milliseconds between passes; 0 runs no timer (tests call `tick()`). */
  intervalMs: number;
  logger?: Logger;
  name: string;
}

/**
 * Runs `pass` every `intervalMs` (timer unref'd: a worker never keeps a process alive) and on
 * demand, one pass at a time: a `tick()` during a pass waits for it and then runs its own.
 */
export function periodic(pass: () => Promise<number>, options: PeriodicOptions): Worker {
  const logger = options.logger ?? silentLogger;
  let running: Promise<number> = Promise.resolve(0);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const tick = (): Promise<number> => {
    const next = running.catch(() => 0).then(() => (stopped ? 0 : pass()));
    running = next;
    return next;
  };
  const schedule = (): void => {
    if (stopped || options.intervalMs <= 0) return;
    timer = setTimeout(() => {
      tick()
        .catch((err: unknown) => logger.error({ component: options.name, err }, `${options.name} pass failed`))
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => 0);
    },
  };
}
