/**
 * Child process for the multi-process race tests: opens the shared store (SQLite file or EventStoreDB) with its own
 * engine, waits for "go" on stdin (a barrier across processes), starts N flows at once for
 * one user and server, and prints the results as one JSON line.
 */
import { createInterface } from 'node:readline';
import { startEngine } from './engineHarness.js';

const [storeSpec, mcpUrl, n, key] = process.argv.slice(2);
// A connection string (esdb://…, sqlite:…) or a plain SQLite file path.
const where = /^[a-z+]+:/.test(storeSpec!) ? { eventStore: storeSpec! } : { dbPath: storeSpec! };
const h = await startEngine({ servers: { files: { url: mcpUrl! } }, ...where, encryptionKey: key! });
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() !== 'go') continue;
  const results = await Promise.all(
    Array.from({ length: Number(n) }, () => h.engine.startFlow({ userId: 'alice', serverName: 'files', correlationId: `pid-${process.pid}` })),
  );
  process.stdout.write(`${JSON.stringify(results.map((r) => ({ flowId: r.flowId, url: r.authorizationUrl, joined: r.joined })))}\n`);
  break;
}
rl.close();
await h.store.close();
