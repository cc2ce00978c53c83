/**
 * Child process for the crash test: runs the embedded projector over a SQLite file with small
 * batches until caught up, then exits. The parent SIGKILLs it at random moments. It commits at
 * every batch boundary (`commitIntervalMs: 0`) so that kills land between many commits, and
 * each commit takes a few milliseconds more, as on a slower disk: the projector is otherwise
 * fast enough to finish the test's log before the parent's kills (50-650 ms) land.
 * With a third argument `threads`, catch-up runs in worker threads from the first event behind
 * (they commit on their own connections, without the delay), and the child prints `progress`
 * once a worker's commit moved a checkpoint: the parent kills it then, mid catch-up.
 * argv: <db path> <batch size> [threads]
 */
import { startProjector } from '../../../src/projector/index.js';
import { openSqliteProjectionState, type ProjectionStateStore } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';

const COMMIT_DELAY_MS = 3;
const pause = new Int32Array(new SharedArrayBuffer(4));

const [path, batch, mode] = process.argv.slice(2) as [string, string, string | undefined];
const store = await openEventStore(`sqlite:${path}`);
const sqliteState = openSqliteProjectionState(path);
const stateStore: ProjectionStateStore = {
  ...sqliteState,
  commit(commits) {
    Atomics.wait(pause, 0, 0, COMMIT_DELAY_MS);
    sqliteState.commit(commits);
  },
};
const threads = mode === 'threads' ? { catchUpThreads: 2, threadedCatchUpFrom: 1 } : { catchUpThreads: 0 };
const projector = startProjector({ store, stateStore, batchSize: Number(batch), commitIntervalMs: 0, liveCommitIntervalMs: 0, ...threads });
process.stdout.write('started\n');
const progress = setInterval(() => {
  if (projector.names().some((n) => projector.positionOf(n) !== null)) {
    process.stdout.write('progress\n');
    clearInterval(progress);
  }
}, 1);
await projector.ready;
clearInterval(progress);
await projector.stop();
stateStore.close();
await store.close();
process.stdout.write('caught-up\n');
