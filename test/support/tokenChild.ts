/**
 * Child process for the cross-process refresh race: opens the shared SQLite file (events and
 * data keys) with its own engine whose clock runs `offsetMs` ahead (past the token's expiry),
 * waits for "go" on stdin (a barrier across processes), asks for the access token N times at
 * once, and prints the tokens as one JSON line.
 */
import { createInterface } from 'node:readline';
import { openDataKeyStore } from '../../src/store/dataKeys/index.js';
import { startEngine } from './engineHarness.js';

const [dbPath, mcpUrl, n, key, offsetMs] = process.argv.slice(2);
const dataKeys = openDataKeyStore(`sqlite:${dbPath!}`);
const clock = { now: () => new Date(Date.now() + Number(offsetMs)) };
const h = await startEngine({ servers: { files: { url: mcpUrl! } }, dbPath: dbPath!, encryptionKey: key!, clock, grantOptions: { dataKeys } });
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() !== 'go') continue;
  const tokens = await Promise.all(Array.from({ length: Number(n) }, () => h.engine.getAccessToken('alice', 'files')));
  process.stdout.write(`${JSON.stringify(tokens)}\n`);
  break;
}
rl.close();
dataKeys.close();
await h.store.close();
