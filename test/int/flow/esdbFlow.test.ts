import test from 'ava';
import { startEsdbTestServer } from '../../support/esdbServer/index.js';
import { flowSuite } from './_flowSuite.js';

/**
 * The flow suite on EventStoreDB: the in-process protocol test server through the real
 * `@eventstore/db-client` (serial: the 6.2.1 client shares pending appends process-wide).
 */
flowSuite(test.serial, async () => {
  const server = await startEsdbTestServer();
  return { options: { eventStore: server.connectionString }, stop: () => server.stop() };
});
