/**
 * Child process for the crash test: runs the embedded projector over a SQLite file with small
 * batches until caught up, then exits. The parent SIGKILLs it at random moments. It commits at
 * every batch boundary (`commitIntervalMs: 0`) so that kills land between many commits.
 * argv: <db path> <batch size>
 */
import { startProjector } from '../../../src/projector/index.js';
import { openSqliteProjectionState } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';

const [path, batch] = process.argv.slice(2) as [string, string];
const store = await openEventStore(`sqlite:${path}`);
const stateStore = openSqliteProjectionState(path);
const projector = startProjector({ store, stateStore, batchSize: Number(batch), commitIntervalMs: 0 });
process.stdout.write('started\n');
await projector.ready;
await projector.stop();
stateStore.close();
await store.close();
process.stdout.write('caught-up\n');
