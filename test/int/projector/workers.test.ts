import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readDomainEvents } from '../../../src/flow/commandHandler.js';
import { foldFlow } from '../../../src/flow/evolve.js';
import { EXCHANGE_GRACE_MS } from '../../../src/flow/machine.js';
import { newEvent } from '../../../src/flow/newEvent.js';
import type { ExpiryState, FlowStatusState, FlowsOverviewState } from '../../../src/projector/projectionStates.js';
import { clientStream, flowStream } from '../../../src/flow/streams.js';
import { startExpiryWorker, startProjector, startStaleClientWorker, type Projector } from '../../../src/projector/index.js';
import type { ProjectionReader } from '../../../src/projector/reader.js';
import { createMemoryProjectionState } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';
import type { EventStore } from '../../../src/store/types.js';
import { ctx, seedFlow, seedRegistration, TTL_MS } from '../../support/projections/seed.js';

const T0 = Date.parse('2026-05-01T09:00:00.000Z');
const fixedClock = (ms: number) => ({ now: () => new Date(ms) });

/** Two "replicas": two stores on one SQLite file, each with its own projector. */
async function twoReplicas(t: { teardown(fn: () => Promise<void> | void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'workers-'));
  const url = `sqlite:${join(dir, 'events.db')}?synchronous=normal`;
  const stores: EventStore[] = [await openEventStore(url), await openEventStore(url)];
  const projectors: Projector[] = stores.map((store) => startProjector({ store, stateStore: createMemoryProjectionState() }));
  t.teardown(async () => {
    for (const p of projectors) await p.stop();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { stores, projectors };
}

const typesOf = async (store: EventStore, stream: string) => (await readDomainEvents(store, stream)).map((e) => e.type);

test('two expiry workers racing append FlowExpired exactly once per overdue flow and leave the others alone', async (t) => {
  const { stores, projectors } = await twoReplicas(t);
  const [a] = stores as [EventStore, EventStore];
  for (let i = 0; i < 6; i++) await seedFlow(a, { flowId: `due${i}`, userId: `u${i}`, serverName: 'files', at: T0 + i * 1000, outcome: { kind: 'pending' } });
  await seedFlow(a, { flowId: 'fresh', userId: 'late', serverName: 'files', at: T0 + 2 * TTL_MS, outcome: { kind: 'pending' } });
  await seedFlow(a, { flowId: 'done', userId: 'd', serverName: 'files', at: T0, outcome: { kind: 'completed', after: 5000 } });
  await Promise.all(projectors.map((p) => p.catchUp(5000)));
  const now = T0 + TTL_MS + 10_000; // past the six, before "fresh"
  const workers = stores.map((store, i) => startExpiryWorker({ store, reader: projectors[i]!, clock: fixedClock(now), intervalMs: 0 }));
  const appended = await Promise.all(workers.map((w) => w.tick()));
  t.is(appended[0]! + appended[1]!, 6);
  for (let i = 0; i < 6; i++) t.deepEqual((await typesOf(a, flowStream(`due${i}`))).filter((x) => x === 'FlowExpired'), ['FlowExpired']);
  t.false((await typesOf(a, flowStream('fresh'))).includes('FlowExpired'));
  t.false((await typesOf(a, flowStream('done'))).includes('FlowExpired'));
  await Promise.all(projectors.map((p) => p.catchUp(5000)));
  t.deepEqual(await Promise.all(workers.map((w) => w.tick())), [0, 0], 'a later pass finds nothing left to expire');
  await Promise.all(workers.map((w) => w.stop()));
});

test('the machine refuses an expiry that a lagging or wrong read model believes is due', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  t.teardown(() => store.close());
  await seedFlow(store, { flowId: 'young', userId: 'u', serverName: 'files', at: T0, outcome: { kind: 'pending' } });
  const lying: ProjectionReader = {
    async getState<T>() {
      return { open: { 'flow-young': { flowId: 'young', expiresAt: new Date(T0).toISOString(), state: 'pending', exchangeId: null } }, closed: 0 } as T;
    },
  };
  const worker = startExpiryWorker({ store, reader: lying, clock: fixedClock(T0 + 1000), intervalMs: 0 });
  t.is(await worker.tick(), 0);
  t.deepEqual(await typesOf(store, flowStream('young')), ['FlowInitiated']);
  await worker.stop();
});

test('an exchange still in flight at the flow\'s expiry is expired only after its grace, and the read models agree with the machine', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  const projector = startProjector({ store, stateStore: createMemoryProjectionState() });
  t.teardown(async () => { await projector.stop(); await store.close(); });
  // The exchange starts 30 s before the flow expires and never ends (its claimant died).
  await seedFlow(store, { flowId: 'stuck', userId: 'u', serverName: 'files', at: T0, outcome: { kind: 'exchanging', after: TTL_MS - 30_000 } });
  const exchangeStart = T0 + TTL_MS - 30_500;
  const expiresAt = new Date(T0 + TTL_MS).toISOString();
  const states = async () => {
    await projector.catchUp(5000);
    return {
      status: (await projector.getState<FlowStatusState>('flow-status', flowStream('stuck')))!.status,
      open: Object.keys((await projector.getState<ExpiryState>('expiry'))!.open),
      expired: (await projector.getState<FlowsOverviewState>('flows-overview'))!.totals.EXPIRED,
      machine: foldFlow(await readDomainEvents(store, flowStream('stuck'))).value,
    };
  };
  await projector.catchUp(5000);
  t.is((await projector.getState<ExpiryState>('expiry'))!.open[flowStream('stuck')]!.exchangeStartedAt, new Date(exchangeStart).toISOString());
  // Past the expiry, inside the grace (to its last ms): the worker does not even read the flow.
  const reads: string[] = [];
  const watched = new Proxy(store, {
    get: (target, prop, receiver) => (prop === 'readStream' ? (id: string, o?: object) => (reads.push(id), target.readStream(id, o)) : Reflect.get(target, prop, receiver)),
  });
  for (const now of [T0 + TTL_MS + 10_000, exchangeStart + EXCHANGE_GRACE_MS - 1]) {
    const inGrace = startExpiryWorker({ store: watched, reader: projector, clock: fixedClock(now), intervalMs: 0 });
    t.is(await inGrace.tick(), 0);
    await inGrace.stop();
  }
  t.deepEqual(reads, []);
  // An expiry written inside the grace anyway (a foreign or tampered log): ignored by all.
  await store.appendToStream(flowStream('stuck'), newEvent('FlowExpired', { expiresAt }, ctx(T0 + TTL_MS + 10_000, 'system')));
  t.deepEqual(await states(), { status: 'PENDING', open: [flowStream('stuck')], expired: 0, machine: 'exchanging' });
  // As machine v1 wrote it, the same expiry counts (v1's rule), for the machine and the projections alike.
  const v1 = newEvent('FlowExpired', { expiresAt }, ctx(T0 + TTL_MS + 10_000, 'system'));
  const oldStore = await openEventStore('sqlite::memory:');
  t.teardown(() => oldStore.close());
  await seedFlow(oldStore, { flowId: 'stuck', userId: 'u', serverName: 'files', at: T0, outcome: { kind: 'exchanging', after: TTL_MS - 30_000 } });
  await oldStore.appendToStream(flowStream('stuck'), { ...v1, metadata: { ...v1.metadata, machineVersion: 1 } });
  const oldProjector = startProjector({ store: oldStore, stateStore: createMemoryProjectionState() });
  t.teardown(() => oldProjector.stop());
  await oldProjector.catchUp(5000);
  t.is((await oldProjector.getState<FlowStatusState>('flow-status', flowStream('stuck')))!.status, 'EXPIRED');
  t.deepEqual(Object.keys((await oldProjector.getState<ExpiryState>('expiry'))!.open), []);
  t.is((await oldProjector.getState<FlowsOverviewState>('flows-overview'))!.totals.EXPIRED, 1);
  t.is(foldFlow(await readDomainEvents(oldStore, flowStream('stuck'))).value, 'expired');
  // Once the grace is over the worker expires it, and every read model follows.
  const after = startExpiryWorker({ store, reader: projector, clock: fixedClock(exchangeStart + EXCHANGE_GRACE_MS), intervalMs: 0 });
  t.is(await after.tick(), 1);
  await after.stop();
  t.deepEqual(await states(), { status: 'EXPIRED', open: [], expired: 1, machine: 'expired' });
});

test('two stale-client workers racing discard a client rejected after reuse exactly once', async (t) => {
  const { stores, projectors } = await twoReplicas(t);
  const [a] = stores as [EventStore, EventStore];
  const key = await seedRegistration(a, 'files', 'client-1', T0);
  await seedFlow(a, { flowId: 'ok', userId: 'u1', serverName: 'files', at: T0 + 1000, registration: { key, clientId: 'client-1', reused: false }, outcome: { kind: 'completed', after: 3000 } });
  await seedFlow(a, { flowId: 'rej', userId: 'u2', serverName: 'files', at: T0 + 9000, registration: { key, clientId: 'client-1', reused: true }, outcome: { kind: 'rejected', after: 2000 } });
  await Promise.all(projectors.map((p) => p.catchUp(5000)));
  const health = await projectors[0]!.getState<any>('client-health');
  t.true(health.registrations[key].stale);
  t.is(health.registrations[key].staleReason, 'rejected_after_reuse');
  const workers = stores.map((store, i) => startStaleClientWorker({ store, reader: projectors[i]!, clock: fixedClock(T0 + 60_000), intervalMs: 0 }));
  const appended = await Promise.all(workers.map((w) => w.tick()));
  t.is(appended[0]! + appended[1]!, 1);
  const discards = (await readDomainEvents(a, clientStream(key))).filter((e) => e.type === 'ClientRegistrationDiscarded');
  t.is(discards.length, 1);
  t.is((discards[0]!.data as { reason: string }).reason, 'stale');
  await Promise.all(projectors.map((p) => p.catchUp(5000)));
  const after = await projectors[1]!.getState<any>('client-health');
  t.is(after.registrations[key].status, 'discarded');
  t.is(after.staleCleanups, 1);
  t.deepEqual(await Promise.all(workers.map((w) => w.tick())), [0, 0]);
  await Promise.all(workers.map((w) => w.stop()));
});

test('a worker on an interval runs by itself and stops cleanly', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  const projector = startProjector({ store, stateStore: createMemoryProjectionState() });
  t.teardown(async () => {
    await projector.stop();
    await store.close();
  });
  await seedFlow(store, { flowId: 'old', userId: 'u', serverName: 'files', at: T0, outcome: { kind: 'pending' } });
  await projector.catchUp(5000);
  const worker = startExpiryWorker({ store, reader: projector, clock: fixedClock(T0 + TTL_MS), intervalMs: 10 });
  for (let i = 0; i < 200 && !(await typesOf(store, flowStream('old'))).includes('FlowExpired'); i++) await new Promise((r) => setTimeout(r, 10));
  await worker.stop();
  t.deepEqual(await typesOf(store, flowStream('old')), ['FlowInitiated', 'FlowExpired']);
});
