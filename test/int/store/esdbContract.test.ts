import test, { type TestFn } from 'ava';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { startEsdbTestServer, type EsdbTestServerOptions } from '../../support/esdbServer/index.js';
import { storeContract } from '../../support/storeContract.js';

/**
 * The store contract through the EventStoreDB adapter and the unmodified 6.2.1 client: against
 * the in-process protocol test server (BatchAppend path; then the legacy Append path without
 * `caughtUp` messages, as on older servers), and against a real EventStoreDB/KurrentDB when
 * `ESDB_CONNECTION_STRING` is set.
 *
 * Each test gets its own test server: the contract compares `headPosition()` before and after
 * a rejected append, which only holds when no other test writes to the same `$all` meanwhile
 * (for the same reason the real-server variant runs serially). The test-server variants run
 * serially too: `@eventstore/db-client` 6.2.1 keeps pending BatchAppend calls in one
 * module-wide map and fails all of them when any client in the process is disposed, so one
 * test closing its store would break another's in-flight append (see src/store/esdb/index.ts).
 */
const serial = test.serial as TestFn;
/**
 * EventStoreDB has no global event-id index (ids are only a per-position idempotency key) and
 * no multi-stream transaction (`appendToStreams` can leave a committed prefix).
 */
const ESDB = { globallyUniqueEventIds: false, atomicMultiStreamAppends: false };

const viaTestServer = (options: EsdbTestServerOptions) => async () => {
  const server = await startEsdbTestServer(options);
  return { store: await openEventStore(server.connectionString), cleanup: () => server.stop() };
};

storeContract(serial, 'esdb test server', viaTestServer({}), ESDB);
storeContract(serial, 'esdb test server (legacy append, no caughtUp)', viaTestServer({ batchAppend: false, sendCaughtUp: false }), ESDB);

const real = process.env.ESDB_CONNECTION_STRING;
if (real) {
  storeContract(serial, 'esdb real server', async () => ({ store: await openEventStore(real) }), ESDB);
} else {
  console.log('esdbContract: ESDB_CONNECTION_STRING is not set; the contract against a real EventStoreDB was not run');
}
