import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Loads the entry in the worker. Under tsx (no build step) the worker registers tsx's loader
 * itself: Node 20 does not apply the parent's `--import tsx` to a worker's entry.
 */
const BOOT = `
const { workerData } = require('node:worker_threads');
(workerData.entry.endsWith('.ts') ? import('tsx/esm/api').then((tsx) => tsx.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((err) => process.nextTick(() => { throw err; }));`;

/** The URL of module `name` next to the module at `base` (`import.meta.url`): `.ts` under tsx, `.js` once built. */
export function siblingEntry(name: string, base: string): string {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base).href;
}

/**
 * Starts a worker thread running the module at `entry` (see {@link siblingEntry}), which finds
 * `data` (plus `entry`) in its `workerData`.
 */
export function startWorker(entry: string, data: Record<string, unknown> = {}, options: Omit<WorkerOptions, 'eval' | 'workerData'> = {}): Worker {
  return new Worker(BOOT, { ...options, eval: true, workerData: { ...data, entry } });
}
