/**
 * Entry of the projector thread (see `projectorThread.ts`): runs the embedded projector, the
 * very `startProjector` of the event loop's own, on connections of its own to the log and to
 * the state store, and answers the event loop's projector: its progress after every change,
 * state reads, rebuilds, the stop.
 */
import { inspect } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../flow/deps.js';
import { openProjectionState } from '../store/projectionState/openProjectionState.js';
import { openSqliteEventStore } from '../store/sqlite/sqliteEventStore.js';
import { toWireError } from '../store/sqlite/writerWire.js';
import { startProjector } from './projector.js';
import type { ProjectorCall, ProjectorReport, ProjectorTask } from './projectorWire.js';

const task = workerData as ProjectorTask;
const port = parentPort!;
const report = (r: ProjectorReport): void => port.postMessage(r);

/**
 * A log record's fields as they can cross to the event loop: errors keep their code and
 * details (structured clone would keep only name, message and stack), anything else that
 * cannot be cloned goes as its `inspect` text.
 */
function cloneable(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      out[k] = { ...toWireError(v), name: v.name, stack: v.stack };
      continue;
    }
    try {
      out[k] = structuredClone(v);
    } catch {
      out[k] = inspect(v, { depth: 3, breakLength: Infinity });
    }
  }
  return out;
}

const forward = (level: 'info' | 'warn' | 'error' | 'debug') => (obj: object, msg?: string): void => {
  report({ kind: 'log', level, obj: cloneable(obj), msg });
};
const logger: Logger = { info: forward('info'), warn: forward('warn'), error: forward('error'), debug: forward('debug') };

// Reads only: the log's writer is the event loop's store.
const store = openSqliteEventStore({ ...task.store, writer: 'inline' });
const stateStore = openProjectionState(task.stateConnection);
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
      report({ kind: 'progress', projections: projector.progress() });
    });
  },
});
// `ready` rejects only when stopped first (start-up cut short): nothing to report then.
projector.ready.then(
  () => {
    report({ kind: 'progress', projections: projector.progress() });
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
  answer(m).then(
    (value) => {
      if (m.op !== 'stop') report({ kind: 'progress', projections: projector.progress() });
      report({ kind: 'reply', id: m.id, ok: true, value });
    },
    (err: unknown) => report({ kind: 'reply', id: m.id, ok: false, error: toWireError(err) }),
  );
});
