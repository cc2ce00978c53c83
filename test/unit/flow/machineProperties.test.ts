import test from 'ava';
import fc from 'fast-check';
import type { FlowCommand } from '../../../src/flow/decide.js';
import { applyDecision, decideFlow } from '../../../src/flow/decide.js';
import { evolveStrict, foldFlow, initialFlowSnapshot, isFinal, type FlowState } from '../../../src/flow/evolve.js';
import type { FlowMachineEvent } from '../../../src/flow/machine.js';
import type { DomainEvent } from '../../../src/flow/catalogue.js';
import { ctxAt, hashOf, initiated, T0, TTL } from '../../support/flowSpec.js';

const commandArb: fc.Arbitrary<FlowCommand> = fc.oneof(
  fc.constant<FlowCommand>({ type: 'InitiateFlow', data: initiated() }),
  fc.constantFrom('a', 'b', 'n').map((c): FlowCommand => ({ type: 'BindBrowser', bindingHash: hashOf(c) })),
  fc.constantFrom('access_denied', 'server_error').map((error): FlowCommand => ({ type: 'RecordCallbackError', error })),
  fc.constantFrom('x1', 'x2').map((exchangeId): FlowCommand => ({ type: 'StartExchange', exchangeId, codeHash: hashOf('c') })),
  fc.constantFrom('x1', 'x2').map((exchangeId): FlowCommand => ({ type: 'CompleteExchange', data: { exchangeId, grantRevision: '0' } })),
  fc.constantFrom('x1', 'x2').map((exchangeId): FlowCommand => ({ type: 'RejectClient', data: { exchangeId, oauthError: 'invalid_client', clientId: 'client-1', reused: true } })),
  fc.constantFrom('x1', 'x2').map((exchangeId): FlowCommand => ({ type: 'FailFlow', data: { reason: 'callback_failed', exchangeId } })),
  fc.constant<FlowCommand>({ type: 'CancelFlow' }),
  fc.constant<FlowCommand>({ type: 'ExpireFlow' }),
  fc.constant<FlowCommand>({ type: 'EndReplacedFlow', by: 'next' }),
);
const stepArb = fc.tuple(commandArb, fc.integer({ min: 0, max: TTL / 3 }));

function run(steps: Array<[FlowCommand, number]>) {
  let state: FlowState = foldFlow([]);
  const log: DomainEvent[] = [];
  const trace: FlowState[] = [state];
  let now = T0;
  for (const [cmd, dt] of steps) {
    now += dt;
    const events = decideFlow(cmd, state, ctxAt(now));
    for (const e of events) {
      log.push({ type: e.type, data: e.data as Record<string, unknown>, metadata: e.metadata as DomainEvent['metadata'], streamId: 'flow-x', revision: BigInt(log.length), id: String(log.length) });
    }
    state = applyDecision(state, events, log.length ? BigInt(log.length - 1) : null);
    trace.push(state);
  }
  return { state, log, trace };
}

test('random command sequences never leave a final state or complete without a claim', (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      const { log, trace } = run(steps);
      for (let i = 1; i < trace.length; i++) {
        if (isFinal(trace[i - 1]!.value)) t.is(trace[i]!.value, trace[i - 1]!.value);
      }
      const types = log.map((e) => e.type);
      const done = types.indexOf('FlowCompleted');
      if (done >= 0) t.true(types.slice(0, done).includes('CodeExchangeStarted'));
      t.true(types.filter((x) => x === 'FlowInitiated').length <= 1);
      t.true(types.filter((x) => x === 'CodeExchangeStarted').length <= 1, 'one exchange claim per flow');
      if (types.length) t.is(types[0], 'FlowInitiated');
    }),
    { numRuns: 300 },
  );
});

test('replaying the log gives the state the decisions produced', (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      const { state, log } = run(steps);
      const replayed = foldFlow(log);
      t.is(replayed.value, state.value);
      t.deepEqual(replayed.context, state.context);
    }),
    { numRuns: 200 },
  );
});

test('the fast fold agrees with xstate public transition()', (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
      const { state, log } = run(steps);
      let strict = initialFlowSnapshot;
      for (const e of log) strict = evolveStrict(strict, { type: e.type, data: e.data, metadata: e.metadata } as FlowMachineEvent);
      t.is(strict.value, state.value);
      t.deepEqual(strict.context, state.context);
    }),
    { numRuns: 100 },
  );
});
