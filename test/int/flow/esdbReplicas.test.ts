import test from 'ava';
import { fileURLToPath } from 'node:url';
import { redirectUriFor } from '../../../src/flow/deps.js';
import { followAuthorization } from '../../support/browserless.js';
import { spawnTsChild } from '../../support/childProcess.js';
import { eventsOf, startEngine, startPeers, testKey } from '../../support/engineHarness.js';
import { startEsdbTestServer } from '../../support/esdbServer/index.js';

/**
 * Engine replicas on one EventStoreDB (the in-process protocol test server, through the real
 * `@eventstore/db-client`): the guarantees of the flow core hold across processes there too.
 */
const child = fileURLToPath(new URL('../../support/flowStartChild.ts', import.meta.url));

test.serial('two replicas on EventStoreDB: 20 starts give one flow and one registration, 10 duplicate callbacks one token request', async (t) => {
  const esdb = await startEsdbTestServer();
  const peers = await startPeers('oidc');
  t.teardown(async () => { await peers.stop(); await esdb.stop(); });
  const key = testKey();

  const replicas = [0, 1].map(() => spawnTsChild(child, [esdb.connectionString, peers.mcp.url, '10', key]));
  for (const r of replicas) t.is(await r.next(), 'ready');
  for (const r of replicas) r.p.stdin.write('go\n');
  const started = (await Promise.all(replicas.map((r) => r.next()))).flatMap((l) => JSON.parse(l) as Array<{ flowId: string; url: string; joined: boolean }>);
  t.deepEqual(await Promise.all(replicas.map((r) => r.exited)), [0, 0]);
  t.is(started.length, 20);
  t.is(new Set(started.map((s) => s.flowId)).size, 1, 'one flow id');
  t.is(started.filter((s) => !s.joined).length, 1);
  t.is(peers.registrations(), 1, 'one registration request');

  // Two engine instances in this process (each its own store handle) take the duplicate callbacks.
  const [a, b] = await Promise.all([0, 1].map(() => startEngine({ servers: { files: { url: peers.mcp.url } }, eventStore: esdb.connectionString, encryptionKey: key })));
  t.teardown(async () => { await a!.close(); await b!.close(); });
  const bound = await a!.engine.bindBrowser({ userId: 'alice', serverName: 'files', correlationId: 'bind' });
  t.truthy(bound);
  const cb = await followAuthorization(started[0]!.url, { redirectUri: redirectUriFor(a!.publicUrl, 'files') });
  const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).callback('files', cb, bound!.bindingSecret)));
  t.true(outcomes.every((o) => o.ok), JSON.stringify(outcomes));
  t.is(peers.tokenRequests(), 1, 'one token request');
  const types = (await eventsOf(a!.store, 'flow')).map((e) => e.type);
  t.is(types.filter((x) => x === 'CodeExchangeStarted').length, 1);
  t.is(types.filter((x) => x === 'FlowCompleted').length, 1);
});
