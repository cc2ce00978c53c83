import test from 'ava';
import fc from 'fast-check';
import { evolve, evolvesByTable, evolveStrict, evolveWithXstate, initialFlowSnapshot, type FlowSnapshot } from '../../../src/flow/evolve.js';
import { flowMachine, type FlowMachineEvent } from '../../../src/flow/machine.js';
import { hashOf, initiated, T0, TTL } from '../../support/flowSpec.js';

/**
 * `evolve` folds with a table read from the machine's definition (src/flow/flowSteps.ts).
 * These tests hold it to xstate's public `transition()` on arbitrary event sequences, legal
 * or not: the same state, status and context after every event, and "unchanged" (the same
 * snapshot object) exactly when xstate leaves the snapshot unchanged.
 */
const at = (ms: number) => ({ at: new Date(ms).toISOString(), schemaVersion: 1, machineVersion: 1, correlationId: 'c', actor: 'a' });
const exchange = fc.constantFrom('x1', 'x2');
const eventArb: fc.Arbitrary<(ms: number) => FlowMachineEvent> = fc.oneof(
  fc.constant((ms: number) => ({ type: 'FlowInitiated', data: initiated(), metadata: at(ms) })),
  fc.constant((ms: number) => ({ type: 'ClientReused', data: { registrationKey: 'r', registrationRevision: '0', clientId: 'client-1' }, metadata: at(ms) })),
  fc.constantFrom('a', 'b', 'n').map((c) => (ms: number) => ({ type: 'BrowserBound', data: { bindingHash: hashOf(c) }, metadata: at(ms) })),
  fc.constantFrom('access_denied', 'server_error').map((error) => (ms: number) => ({ type: 'CallbackErrored', data: { error }, metadata: at(ms) })),
  exchange.map((exchangeId) => (ms: number) => ({ type: 'CodeExchangeStarted', data: { exchangeId, codeHash: hashOf('c') }, metadata: at(ms) })),
  exchange.map((exchangeId) => (ms: number) => ({ type: 'FlowCompleted', data: { exchangeId, grantRevision: '0' }, metadata: at(ms) })),
  exchange.map((exchangeId) => (ms: number) => ({ type: 'ClientRejected', data: { exchangeId, oauthError: 'invalid_client', clientId: 'client-1', reused: true }, metadata: at(ms) })),
  fc.option(exchange).map((exchangeId) => (ms: number) => ({ type: 'FlowFailed', data: { reason: 'callback_failed', ...(exchangeId ? { exchangeId } : {}) }, metadata: at(ms) })),
  fc.constant((ms: number) => ({ type: 'FlowCancelled', data: {}, metadata: at(ms) })),
  fc.constant((ms: number) => ({ type: 'FlowExpired', data: { expiresAt: new Date(T0 + TTL).toISOString() }, metadata: at(ms) })),
  fc.constant((ms: number) => ({ type: 'FlowSuperseded', data: { by: 'next' }, metadata: at(ms) })),
  fc.constant((ms: number) => ({ type: 'NotAFlowEvent', data: {}, metadata: at(ms) })),
) as fc.Arbitrary<(ms: number) => FlowMachineEvent>;
const stepsArb = fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: TTL / 2 })), { maxLength: 25 });

test('the machine is folded by its table (a change that outgrows it falls back to xstate)', (t) => {
  t.true(evolvesByTable);
});

test('the table fold agrees with xstate transition() on any event sequence, legal or not', (t) => {
  fc.assert(
    fc.property(stepsArb, (steps) => {
      let fast: FlowSnapshot = initialFlowSnapshot;
      let strict: FlowSnapshot = initialFlowSnapshot;
      let scoped: FlowSnapshot = initialFlowSnapshot;
      let now = T0;
      for (const [make, dt] of steps) {
        now += dt;
        const event = make(now);
        const [f, s, x] = [evolve(fast, event), evolveStrict(strict, event), evolveWithXstate(scoped, event)];
        t.is(f === fast, s === strict, `unchanged on ${event.type} in ${String(fast.value)}`);
        t.is(x === scoped, s === strict);
        t.is(f.value, s.value);
        t.is(f.status, s.status);
        t.deepEqual(f.context, s.context);
        t.deepEqual(x.context, s.context);
        // The audit's final-target check asks the machine about our snapshots.
        t.is(flowMachine.getTransitionData(f, event).length, flowMachine.getTransitionData(s, event).length);
        t.true(f.matches(s.value as never));
        [fast, strict, scoped] = [f, s, x];
      }
    }),
    { numRuns: 300 },
  );
});
