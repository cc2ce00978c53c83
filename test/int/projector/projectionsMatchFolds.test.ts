import test from 'ava';
import fc from 'fast-check';
import { decodeEvent } from '../../../src/flow/catalogue.js';
import { foldFlow } from '../../../src/flow/evolve.js';
import { PROJECTION } from '../../../src/projector/projectionStates.js';
import { startProjector } from '../../../src/projector/index.js';
import { createMemoryProjectionState } from '../../../src/store/projectionState/index.js';
import { canonicalExpected, expectedStates, projectedStates, projectorOver, readLog } from '../../support/projections/harness.js';
import { appendLog, LogSimulator, type Step } from '../../support/projections/logGenerator.js';

const step: fc.Arbitrary<Step> = fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat(), fc.nat());
const logOf = (steps: Step[]) => {
  const sim = new LogSimulator({ users: 4, servers: 3 });
  for (const s of steps) sim.step(s);
  return sim.entries;
};

test('every projection state equals a plain TypeScript fold of the same random log', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 250 }), fc.integer({ min: 1, max: 64 }), async (steps, batchSize) => {
      const h = await projectorOver(logOf(steps), { batchSize });
      try {
        await h.projector.ready;
        const expected = expectedStates(await readLog(h.store));
        t.deepEqual(await projectedStates(h.projector, h.stateStore, expected), canonicalExpected(expected));
      } finally {
        await h.close();
      }
    }),
    { numRuns: 40 },
  );
});

test('flow-status agrees with the flow machine on status, error and times for every flow', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 250 }), async (steps) => {
      const h = await projectorOver(logOf(steps));
      try {
        await h.projector.ready;
        const byStream = new Map<string, ReturnType<typeof decodeEvent>[]>();
        for (const e of await readLog(h.store)) {
          const decoded = decodeEvent(e);
          t.true(decoded.ok, `generated events follow the catalogue (${e.type})`);
          if (!e.streamId.startsWith('flow-')) continue;
          byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), decoded]);
        }
        for (const [stream, events] of byStream) {
          const flow = foldFlow(events.map((d) => (d.ok ? d.event : null)!));
          const s = await h.projector.getState<any>(PROJECTION.flowStatus, stream);
          t.is(s.state, flow.value);
          t.is(s.error, flow.context.error);
          t.is(s.oauthError, flow.context.oauthError);
          t.is(s.endedAt, flow.context.endedAt);
          t.is(s.initiatedAt, flow.context.initiatedAt);
          t.is(Date.parse(s.expiresAt), flow.context.expiresAt);
          t.is(s.exchangeId, flow.context.exchangeId);
          t.is(s.exchangeStartedAt === null ? null : Date.parse(s.exchangeStartedAt), flow.context.exchangeStartedAt);
        }
      } finally {
        await h.close();
      }
    }),
    { numRuns: 25 },
  );
});

test('a projector restarted on its persisted checkpoint ends where a single run ends', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 200 }), fc.nat(), async (steps, cut) => {
      const entries = logOf(steps);
      const split = cut % (entries.length + 1);
      const stateStore = createMemoryProjectionState();
      const h = await projectorOver(entries.slice(0, split), { stateStore, batchSize: 5 });
      await h.projector.ready;
      await h.projector.stop();
      await appendLog(h.store, entries.slice(split));
      const again = startProjector({ store: h.store, stateStore, batchSize: 5 });
      try {
        await again.ready;
        const expected = expectedStates(await readLog(h.store));
        t.deepEqual(await projectedStates(again, stateStore, expected), canonicalExpected(expected));
      } finally {
        await again.stop();
        await h.store.close();
      }
    }),
    { numRuns: 25 },
  );
});
