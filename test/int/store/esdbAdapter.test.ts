import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isEngineError } from '../../../src/errors.js';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { deployProjections, EsdbProjectionReader, openEsdbStore, type EsdbSubscription } from '../../../src/store/esdb/index.js';
import type { RecordedEvent } from '../../../src/store/types.js';
import { startEsdbTestServer } from '../../support/esdbServer/index.js';
import { consume, events, within } from '../../support/storeContract/harness.js';

/**
 * Adapter behaviour beyond the port contract: drops, restarts, error mapping, projections.
 * Serial because 6.2.1 fails every in-flight BatchAppend in the process when any client is
 * disposed (see src/store/esdb/index.ts), and each test here has its own client.
 */

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ns = (e: RecordedEvent) => (e.data as { n: number }).n;

test.serial('a subscription dropped by the server resubscribes from its last position without loss or duplicates', async (t) => {
  const server = await startEsdbTestServer();
  t.teardown(() => server.stop());
  const store = await openEsdbStore(server.connectionString);
  t.teardown(() => store.close());
  await store.appendToStream('drop-1', events(3));
  const sub = store.subscribeToAll({ filter: { streamPrefixes: ['drop-'] } }) as EsdbSubscription;
  const reader = consume(sub);
  await reader.until(3);
  server.dropSubscriptions();
  await store.appendToStream('drop-1', events(2, 'Tested', 3));
  const seen = await reader.until(5);
  t.deepEqual(seen.map(ns), [0, 1, 2, 3, 4]);
  t.true(sub.resubscriptions >= 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(reader.seen.length, 5, 'nothing delivered twice');
  await sub.unsubscribe();
});

test.serial('a subscription survives a server restart on the same port and delivers what was written after it', async (t) => {
  let server = await startEsdbTestServer();
  const { port, log } = server;
  t.teardown(() => server.stop());
  const store = await openEsdbStore(server.connectionString);
  t.teardown(() => store.close());
  await store.appendToStream('restart-1', events(2));
  const sub = store.subscribeToAll({ filter: { streamPrefixes: ['restart-'] } }) as EsdbSubscription;
  const reader = consume(sub);
  await reader.until(2);
  await server.stop();
  server = await startEsdbTestServer({ port, log });
  await eventually(async () => {
    try {
      return await store.appendToStream('restart-1', events(1, 'Tested', 2), { expectedRevision: 1n });
    } catch (err) {
      if (isEngineError(err, 'store_unavailable')) return undefined;
      throw err;
    }
  }, 'the restarted server to accept appends');
  t.deepEqual((await reader.until(3, 10_000)).map(ns), [0, 1, 2]);
  t.true(sub.resubscriptions >= 1);
  await sub.unsubscribe();
});

test.serial('caughtUp resolves on servers that never send it, even when the last matching event is far behind the head', async (t) => {
  const server = await startEsdbTestServer({ sendCaughtUp: false });
  t.teardown(() => server.stop());
  const store = await openEsdbStore(server.connectionString);
  t.teardown(() => store.close());
  await store.appendToStream('wanted-1', events(1));
  for (let i = 0; i < 5; i++) await store.appendToStream(`other-${i}`, events(1));
  const sub = store.subscribeToAll({ filter: { streamPrefixes: ['wanted-'] } });
  const reader = consume(sub);
  await within(sub.caughtUp, 5000, 'caughtUp');
  t.is((await reader.until(1)).length, 1);
  await sub.unsubscribe();
});

test.serial('an append over the server maximum append size fails with event_too_large and writes nothing', async (t) => {
  const server = await startEsdbTestServer();
  t.teardown(() => server.stop());
  const store = await openEsdbStore(server.connectionString);
  t.teardown(() => store.close());
  // Each event is within the port's per-event limit; together they exceed the server's 1 MiB.
  const big = Array.from({ length: 3 }, () => ({ type: 'Big', data: { blob: 'x'.repeat(400 * 1024) } }));
  await t.throwsAsync(store.appendToStream('big-1', big), { code: 'event_too_large' });
  t.is(await store.headPosition(), null);
});

test.serial('an unreachable server fails opening with store_unavailable', async (t) => {
  const server = await startEsdbTestServer();
  const url = server.connectionString;
  await server.stop();
  await t.throwsAsync(openEventStore(url), { code: 'store_unavailable' });
});

test.serial('a malformed connection string fails with config_invalid', async (t) => {
  await t.throwsAsync(openEsdbStore('esdb://host:notaport?tls=false'), { code: 'config_invalid' });
});

test.serial('kurrentdb:// and gossip seed lists reach the server', async (t) => {
  const server = await startEsdbTestServer();
  t.teardown(() => server.stop());
  const seeds = `esdb://127.0.0.1:${server.port},localhost:${server.port}?tls=false`;
  const viaSeeds = await openEventStore(seeds);
  t.teardown(() => viaSeeds.close());
  await viaSeeds.appendToStream('seed-1', events(1));
  const viaKurrent = await openEventStore(`kurrentdb://127.0.0.1:${server.port}?tls=false`);
  t.teardown(() => viaKurrent.close());
  t.deepEqual(await viaKurrent.headPosition(), await viaSeeds.headPosition());
});

test.serial('deployProjections creates, then updates, every projections file and the reader returns partition state', async (t) => {
  const server = await startEsdbTestServer();
  t.teardown(() => server.stop());
  const store = await openEsdbStore(server.connectionString);
  t.teardown(() => store.close());
  const dir = await mkdtemp(join(tmpdir(), 'projections-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const flowStatus = `fromCategory('flow').foreachStream().when({
    $init: function () { return { status: 'none', events: 0 }; },
    FlowStarted: function (s, e) { s.status = 'pending'; s.events++; s.user = e.data.user; },
    FlowCompleted: function (s) { s.status = 'completed'; s.events++; }
  });`;
  const totals = `fromAll().when({ $init: function () { return { count: 0 }; }, $any: function (s) { s.count++; } });`;
  await writeFile(join(dir, 'flowStatus.js'), flowStatus);
  await writeFile(join(dir, 'totals.js'), totals);
  await writeFile(join(dir, 'README.md'), 'not a projection');

  t.deepEqual(await deployProjections(store.client, dir), { created: ['flowStatus', 'totals'], updated: [] });
  await store.appendToStream('flow-a1', [
    { type: 'FlowStarted', data: { user: 'u1' } },
    { type: 'FlowCompleted', data: {} },
  ]);
  await store.appendToStream('flow-b2', { type: 'FlowStarted', data: { user: 'u2' } });

  const reader = new EsdbProjectionReader(store.client);
  const done = await eventually(async () => {
    const s = await reader.getState<{ status: string }>('flowStatus', 'flow-a1');
    return s?.status === 'completed' ? s : undefined;
  }, 'flowStatus to project flow-a1');
  t.deepEqual(done, { status: 'completed', events: 2, user: 'u1' });
  t.like(await reader.getState('flowStatus', 'flow-b2'), { status: 'pending', user: 'u2' });
  t.is(await reader.getState('flowStatus', 'flow-unknown'), undefined);
  t.deepEqual(await eventually(async () => {
    const s = await reader.getState<{ count: number }>('totals');
    return s?.count === 3 ? s : undefined;
  }, 'totals'), { count: 3 });
  await t.throwsAsync(reader.getState('missing'), { code: 'projection_not_found' });

  t.deepEqual(await deployProjections(store.client, dir), { created: [], updated: ['flowStatus', 'totals'] });
  t.is((await store.client.getProjectionStatus('flowStatus')).projectionStatus, 'Running');

  // The server's projection bookkeeping lands in $all; the port never shows it.
  const all: RecordedEvent[] = [];
  for await (const e of store.readAll()) all.push(e);
  t.deepEqual(all.map((e) => e.streamId), ['flow-a1', 'flow-a1', 'flow-b2']);
  t.true(server.log.records.some((r) => r.type === '$ProjectionCheckpoint'));
});
