/**
 * Entry of a catch-up worker thread (see `catchUpThreads.ts`): opens its own read connection to
 * the log and its own connection to the state store, runs its share of the projections from
 * their stored checkpoints to `until` with {@link catchUpByWindows}, committing their states and
 * checkpoints together as the projector would, and reports each commit. Done with its share, it
 * waits for the projector's answer: more projections to catch up (taken over from the
 * projector's own thread, which is still busy) or the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteProjectionState } from '../store/projectionState/sqliteProjectionState.js';
import { openLogWindowReader } from '../store/sqlite/logWindowReader.js';
import type { CatchUpReport, CatchUpStop, CatchUpTake, CatchUpTask } from './catchUpWire.js';
import { ProjectionRuntime, type ProjectionSource } from './projectionRuntime.js';
import { catchUpByWindows, handledTypes, type WindowCatchUpResult } from './windowCatchUp.js';

const task = workerData as CatchUpTask;
const port = parentPort!;
const report = (r: CatchUpReport): void => port.postMessage(r);
let stop = false;
let answer: ((next: CatchUpTake | null) => void) | undefined;
port.on('message', (m: CatchUpStop | CatchUpTake) => {
  if (m.kind === 'stop') stop = true;
  answer?.(m.kind === 'take' ? m : null);
});
// Listening for a stop must not keep the thread alive once its work is done.
port.unref();

/** The projector's answer to a finished share; the port keeps the thread alive until it comes. */
const nextShare = (): Promise<CatchUpTake | null> =>
  new Promise((resolve) => {
    port.ref();
    answer = (next) => {
      answer = undefined;
      port.unref();
      resolve(next);
    };
  });

const stateStore = openSqliteProjectionState(task.statePath);
const options = {
  eventTimeoutMs: task.eventTimeoutMs,
  maxCachedPartitions: task.maxCachedPartitions,
  log: (message: string) => report({ kind: 'log', message }),
};

/** Catches `files` up from their stored checkpoints to `until`. */
async function catchUp(files: ProjectionSource[]): Promise<WindowCatchUpResult> {
  const runtimes = files.map((file) => {
    const r = new ProjectionRuntime(file, stateStore, options);
    r.open();
    return r;
  });
  const reader = openLogWindowReader(task.eventsPath, { eventTypes: handledTypes(runtimes) });
  try {
    const handledBefore = new Map(runtimes.map((r) => [r.name, 0]));
    return await catchUpByWindows({
      reader,
      stateStore,
      runtimes,
      until: task.until,
      eventTimeoutMs: task.eventTimeoutMs,
      maxCachedPartitions: task.maxCachedPartitions,
      commitIntervalMs: task.commitIntervalMs,
      stopRequested: () => stop,
      onCommitted: (commits) => {
        const projections = commits.map((c) => {
          const r = runtimes.find((x) => x.name === c.name)!;
          const handled = r.handled - handledBefore.get(c.name)!;
          handledBefore.set(c.name, r.handled);
          return { name: c.name, handled };
        });
        report({ kind: 'committed', projections });
      },
    });
  } finally {
    reader.close();
  }
}

try {
  let share: ProjectionSource[] | undefined = task.projections;
  while (share) {
    const result = await catchUp(share);
    report({ kind: 'ended', result });
    // Only a finished share is answered (a stopped or refused one ends the worker).
    share = result.kind === 'done' && !stop ? (await nextShare())?.projections : undefined;
  }
} finally {
  stateStore.close();
}
