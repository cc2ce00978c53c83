/**
 * Entry of a catch-up worker thread (see `catchUpThreads.ts`): opens its own read connection to
 * the log and its own connection to the state store, runs its share of the projections from
 * their stored checkpoints to `until` with {@link catchUpByWindows}, committing their states and
 * checkpoints together as the projector would, and reports each commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteProjectionState } from '../store/projectionState/sqliteProjectionState.js';
import { openLogWindowReader } from '../store/sqlite/logWindowReader.js';
import type { CatchUpReport, CatchUpStop, CatchUpTask } from './catchUpWire.js';
import { ProjectionRuntime } from './projectionRuntime.js';
import { catchUpByWindows, handledTypes } from './windowCatchUp.js';

const task = workerData as CatchUpTask;
const port = parentPort!;
const report = (r: CatchUpReport): void => port.postMessage(r);
let stop = false;
port.on('message', (m: CatchUpStop) => {
  if (m.kind === 'stop') stop = true;
});
// Listening for a stop must not keep the thread alive once its work is done.
port.unref();

const stateStore = openSqliteProjectionState(task.statePath);
try {
  const options = {
    eventTimeoutMs: task.eventTimeoutMs,
    maxCachedPartitions: task.maxCachedPartitions,
    log: (message: string) => report({ kind: 'log', message }),
  };
  const runtimes = task.projections.map((file) => {
    const r = new ProjectionRuntime(file, stateStore, options);
    r.open();
    return r;
  });
  const eventTypes = handledTypes(runtimes);
  const reader = openLogWindowReader(task.eventsPath, { eventTypes });
  try {
    const handledBefore = new Map(runtimes.map((r) => [r.name, 0]));
    const result = await catchUpByWindows({
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
    report({ kind: 'ended', result });
  } finally {
    reader.close();
  }
} finally {
  stateStore.close();
}
