interface Waiter {
  since: number;
  wake: () => void;
}

/**
 * Wakes waiting subscriptions when the file changes. Appends through this store call
 * {@link ChangeWatcher.notify} (immediate wake-up); commits by other connections or processes are
 * seen by polling `PRAGMA data_version`, which changes exactly when another connection has
 * committed and costs no table read (https://www.sqlite.org/pragma.html#pragma_data_version).
 * The timer only runs while someone waits, and keeps the process alive like an open socket.
 */
export class ChangeWatcher {
  readonly #readVersion: (() => number) | undefined;
  readonly #intervalMs: number;
  readonly #waiters = new Set<Waiter>();
  #timer: NodeJS.Timeout | undefined;

  /** `readVersion` is undefined for private in-memory databases, which only this store writes. */
  constructor(readVersion: (() => number) | undefined, intervalMs: number) {
    this.#readVersion = readVersion;
    this.#intervalMs = intervalMs;
  }

  /** The value to pass to {@link wait}; read it before the read that came back empty. */
  version(): number {
    return this.#readVersion?.() ?? 0;
  }

  /** Resolves on the next local append, on a foreign commit after `since`, or on {@link cancel}. */
  wait(since: number): { promise: Promise<void>; cancel: () => void } {
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve) => {
      waiter = { since, wake: resolve };
    });
    this.#waiters.add(waiter);
    if (this.#readVersion !== undefined && this.#timer === undefined) {
      this.#timer = setInterval(() => this.poll(), this.#intervalMs);
    }
    return {
      promise,
      cancel: () => {
        this.#waiters.delete(waiter);
        this.#stopWhenIdle();
        waiter.wake();
      },
    };
  }

  notify(): void {
    if (this.#waiters.size === 0) return;
    const woken = [...this.#waiters];
    this.#waiters.clear();
    this.#stopWhenIdle();
    for (const w of woken) w.wake();
  }

  close(): void {
    this.notify();
    this.#stopWhenIdle();
  }

  /** Checks for foreign commits now instead of at the next tick of the timer. */
  poll(): void {
    if (this.#readVersion === undefined || this.#waiters.size === 0) return;
    let current: number;
    try {
      current = this.#readVersion();
    } catch {
      // The connection is closing: wake everyone so they observe it.
      this.notify();
      return;
    }
    for (const w of this.#waiters) {
      if (w.since !== current) {
        this.#waiters.delete(w);
        w.wake();
      }
    }
    this.#stopWhenIdle();
  }

  #stopWhenIdle(): void {
    if (this.#waiters.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
