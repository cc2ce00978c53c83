/**
 * Entry of the projector thread (see `projectorThread.ts`): runs the embedded projector, the
 * very `startProjector` of the event loop's own, on connections of its own to the log and to
 * the state store, and answers the event loop's projector: its progress after every change,
 * state reads, rebuilds, the stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../flow/deps.js';
import { openProjectionState } from '../store/projectionState/openProjectionState.js';
import { openSqliteEventStore } from '../store/sqlite/sqliteEventStore.js';
import { toWireError } from '../store/sqlite/writerWire.js';
import { cloneableFields } from './cloneableFields.js';
import { startProjector } from './projector.js';
import type { ProjectorCall, ProjectorReport, ProjectorTask } from './projectorWire.js';

const task = workerData as ProjectorTask;
const port = parentPort!;
const report = (r: ProjectorReport): void => port.postMessage(r);

const forward = (level: 'info' | 'warn' | 'error' | 'debug') => (obj: object, msg?: string): void => {
  try {
    report({ kind: 'log', level, obj: cloneableFields(obj), msg });
  } catch {
    // Never into the projector's own code paths (a commit, a flush) that logged.
  }
};
const logger: Logger = { info: forward('info'), warn: forward('warn'), error: forward('error'), debug: forward('debug') };

// Reads only: the log's writer is the event loop's store.
const store = openSqliteEventStore({ ...task.store, writer: 'inline' });
const stateStore = openProjectionState(task.stateConnection);
/** Rebuilds of each projection the event loop asked for, as last received (see `ProjectorCall`). */
const epochs: Record<string, number> = { ...task.epochs };
const reportProgress = (): void => report({ kind: 'progress', projections: projector.progress(), epochs });
let progressDue = false;
const projector = startProjector({
  ...task.tuning,
  store,
  stateStore,
  projections: task.projections,
  logger,
  // Once per turn of this thread's loop, however many batches and commits it saw.
  onProgress: () => {
    if (progressDue) return;
    progressDue = true;
    setImmediate(() => {
      progressDue = false;
      reportProgress();
    });
  },
});
// `ready` rejects only when stopped first (start-up cut short): nothing to report then.
projector.ready.then(
  () => {
    reportProgress();
    report({ kind: 'ready' });
  },
  () => undefined,
);

async function answer(call: Extract<ProjectorCall, { kind: 'call' }>): Promise<unknown> {
  switch (call.op) {
    case 'getState':
      return projector.getState(call.name, call.partition);
    case 'getResult':
      return projector.getResult(call.name, call.partition);
    case 'rebuild':
      // Before the rebuild resets the projection (synchronously, on its first step).
      epochs[call.name] = call.epoch;
      return projector.rebuild(call.name);
    case 'stop':
      await projector.stop();
      stateStore.close();
      await store.close();
      return undefined;
  }
}

port.on('message', (m: ProjectorCall) => {
  if (m.kind === 'poke') return store.checkForChanges();
  // Progress first: a caller answered (a rebuild done) must see the progress that came with it.
  answer(m)
    .then(
      (value) => {
        // A rebuild moved the progress its caller is about to read; a state read moved nothing.
        if (m.op === 'rebuild') reportProgress();
        report({ kind: 'reply', id: m.id, ok: true, value });
      },
      (err: unknown) => report({ kind: 'reply', id: m.id, ok: false, error: toWireError(err) }),
    )
    // A value that cannot be cloned: the caller still gets an answer.
    .catch((err: unknown) => report({ kind: 'reply', id: m.id, ok: false, error: toWireError(new Error(`the answer could not be sent: ${String(err)}`)) }));
});
