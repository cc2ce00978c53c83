import test from 'ava';
import fc from 'fast-check';
import type { FlowDeps } from '../../../src/flow/deps.js';
import { newEvent } from '../../../src/flow/newEvent.js';
import { streamQueries } from '../../../src/flow/queries.js';
import { flowStream } from '../../../src/flow/streams.js';
import { projectionQueries } from '../../../src/projector/index.js';
import { projectorOver } from '../../support/projections/harness.js';
import { LogSimulator, type Step } from '../../support/projections/logGenerator.js';
import { seedFlow } from '../../support/projections/seed.js';

const step: fc.Arbitrary<Step> = fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat(), fc.nat());

test('projection queries give the same answers as stream queries for the same log', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 200 }), fc.integer({ min: -900, max: 900 }), async (steps, skewSeconds) => {
      const sim = new LogSimulator({ users: 3, servers: 2 });
      for (const s of steps) sim.step(s);
      const h = await projectorOver(sim.entries);
      try {
        const clock = { now: () => new Date(sim.nowMs + skewSeconds * 1000) };
        const fromStreams = streamQueries({ store: h.store, clock } as FlowDeps);
        const fromProjections = projectionQueries(h.projector, { clock });
        const flowIds = new Set(['unknown-flow']);
        for (const e of sim.entries) if (e.streamId.startsWith('flow-')) flowIds.add(e.streamId.slice('flow-'.length));
        for (const id of flowIds) t.deepEqual(await fromProjections.flowStatus(id), await fromStreams.flowStatus(id), `flow ${id}`);
        for (const user of ['user0', 'user1', 'user2', 'nobody']) {
          for (const server of ['srv0', 'srv1', 'other']) {
            t.deepEqual(await fromProjections.connectionStatus(user, server), await fromStreams.connectionStatus(user, server), `${user}/${server}`);
          }
        }
      } finally {
        await h.close();
      }
    }),
    { numRuns: 15 },
  );
});

test('a query right after an append reflects that append (read-your-writes)', async (t) => {
  const h = await projectorOver([]);
  t.teardown(() => h.close());
  const T0 = Date.parse('2026-05-01T09:00:00.000Z');
  const queries = projectionQueries(h.projector, { clock: { now: () => new Date(T0 + 1000) } });
  await seedFlow(h.store, { flowId: 'f1', userId: 'ann', serverName: 'files', at: T0, outcome: { kind: 'pending' } });
  t.is((await queries.flowStatus('f1'))?.status, 'PENDING');
  t.is((await queries.connectionStatus('ann', 'files')).connectionState, 'connecting');
  await h.store.appendToStream(flowStream('f1'), newEvent('FlowCancelled', {}, { now: new Date(T0 + 2000), correlationId: 'c', actor: 'ann' }));
  t.deepEqual(await queries.flowStatus('f1'), {
    flowId: 'f1',
    userId: 'ann',
    serverName: 'files',
    status: 'CANCELLED',
    error: 'flow_cancelled',
    initiatedAt: new Date(T0).toISOString(),
    endedAt: new Date(T0 + 2000).toISOString(),
    expiresAt: new Date(T0 + 600_000).toISOString(),
  });
  t.is((await queries.connectionStatus('ann', 'files')).connectionState, 'disconnected');
});

test('a query fails clearly instead of answering from a faulted projection', async (t) => {
  const h = await projectorOver([], {
    projections: [
      { name: 'flow-status', source: "fromCategory('flow').foreachStream().when({ $any: function () { throw new Error('boom'); } })" },
    ],
  });
  t.teardown(() => h.close());
  const T0 = Date.parse('2026-05-01T09:00:00.000Z');
  await seedFlow(h.store, { flowId: 'f1', userId: 'ann', serverName: 'files', at: T0, outcome: { kind: 'pending' } });
  const queries = projectionQueries(h.projector, { waitMs: 2000 });
  await t.throwsAsync(queries.flowStatus('f1'), { message: /faulted.*boom/ });
});
