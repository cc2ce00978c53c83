import test from 'ava';
import { EXCHANGE_GRACE_MS } from '../../../src/flow/machine.js';
import { given, hashOf, initiated, T0, TTL, when } from '../../support/flowSpec.js';

const pending = () => given([['FlowInitiated', initiated()]]);
const exchanging = () => given([['FlowInitiated', initiated()], ['CodeExchangeStarted', { exchangeId: 'x1', codeHash: hashOf('c') }]]);

test('initiating a new flow appends FlowInitiated', (t) => {
  t.deepEqual(when(given([]), { type: 'InitiateFlow', data: initiated() }).map((e) => e.type), ['FlowInitiated']);
});

test('initiating with a reused registration also appends ClientReused', (t) => {
  const events = when(given([]), { type: 'InitiateFlow', data: initiated(), reused: { registrationKey: 'reg1', registrationRevision: '1', clientId: 'client-1' } });
  t.deepEqual(events.map((e) => e.type), ['FlowInitiated', 'ClientReused']);
});

test('initiating an existing flow appends nothing', (t) => {
  t.deepEqual(when(pending(), { type: 'InitiateFlow', data: initiated() }), []);
});

test('a second browser binding is recorded once', (t) => {
  t.deepEqual(when(pending(), { type: 'BindBrowser', bindingHash: hashOf('n') }).map((e) => e.type), ['BrowserBound']);
  t.deepEqual(when(pending(), { type: 'BindBrowser', bindingHash: hashOf('b') }), [], 'the initial binding is already known');
});

test('binding an expired flow appends nothing', (t) => {
  t.deepEqual(when(pending(), { type: 'BindBrowser', bindingHash: hashOf('n') }, T0 + TTL + 1), []);
});

test('an AS error on a pending flow becomes CallbackErrored', (t) => {
  const events = when(pending(), { type: 'RecordCallbackError', error: 'access_denied' });
  t.deepEqual(events, [{ type: 'CallbackErrored', data: { error: 'access_denied' } }]);
});

test('an AS error on a completed flow cannot fail it', (t) => {
  const done = given([['FlowInitiated', initiated()], ['CodeExchangeStarted', { exchangeId: 'x1', codeHash: hashOf('c') }], ['FlowCompleted', { exchangeId: 'x1', grantRevision: '0' }]]);
  t.deepEqual(when(done, { type: 'RecordCallbackError', error: 'access_denied' }), []);
});

test('the exchange can be claimed once', (t) => {
  t.deepEqual(when(pending(), { type: 'StartExchange', exchangeId: 'x1', codeHash: hashOf('c') }).map((e) => e.type), ['CodeExchangeStarted']);
  t.deepEqual(when(exchanging(), { type: 'StartExchange', exchangeId: 'x2', codeHash: hashOf('c') }), []);
});

test('the exchange of an expired flow cannot be claimed', (t) => {
  t.deepEqual(when(pending(), { type: 'StartExchange', exchangeId: 'x1', codeHash: hashOf('c') }, T0 + TTL), []);
});

test('only the claimant exchange can complete the flow', (t) => {
  t.deepEqual(when(exchanging(), { type: 'CompleteExchange', data: { exchangeId: 'x1', grantRevision: '0' } }).map((e) => e.type), ['FlowCompleted']);
  t.deepEqual(when(exchanging(), { type: 'CompleteExchange', data: { exchangeId: 'other', grantRevision: '0' } }), []);
});

test('completion without an exchange claim is illegal', (t) => {
  t.deepEqual(when(pending(), { type: 'CompleteExchange', data: { exchangeId: 'x1', grantRevision: '0' } }), []);
});

test('a client rejection during the exchange fails the flow', (t) => {
  const events = when(exchanging(), { type: 'RejectClient', data: { exchangeId: 'x1', oauthError: 'invalid_client', clientId: 'client-1', reused: true } });
  t.deepEqual(events.map((e) => e.type), ['ClientRejected']);
});

test('cancel works on a pending flow only', (t) => {
  t.deepEqual(when(pending(), { type: 'CancelFlow', reason: 'user_cancelled' }).map((e) => e.type), ['FlowCancelled']);
  t.deepEqual(when(exchanging(), { type: 'CancelFlow' }), []);
});

test('expiry is refused before expiresAt and accepted after', (t) => {
  t.deepEqual(when(pending(), { type: 'ExpireFlow' }, T0 + TTL - 1), []);
  t.deepEqual(when(pending(), { type: 'ExpireFlow' }, T0 + TTL).map((e) => e.type), ['FlowExpired']);
});

test('a stuck exchange can expire', (t) => {
  t.deepEqual(when(exchanging(), { type: 'ExpireFlow' }, T0 + TTL + 5).map((e) => e.type), ['FlowExpired']);
});

const claimedAt = T0 + TTL - 1000;
const lateExchange = (...more: Parameters<typeof given>[0]) =>
  given([['FlowInitiated', initiated()], ['CodeExchangeStarted', { exchangeId: 'x1', codeHash: hashOf('c') }, claimedAt], ...more]);
const expiry = { expiresAt: new Date(T0 + TTL).toISOString() };

test('an exchange in flight is not expired until its grace has passed, even past the flow expiry', (t) => {
  t.deepEqual(when(lateExchange(), { type: 'ExpireFlow' }, T0 + TTL + 1000), []);
  t.deepEqual(when(lateExchange(), { type: 'ExpireFlow' }, claimedAt + EXCHANGE_GRACE_MS - 1), []);
  t.deepEqual(when(lateExchange(), { type: 'ExpireFlow' }, claimedAt + EXCHANGE_GRACE_MS).map((e) => e.type), ['FlowExpired']);
  // The claimant's outcome is still taken meanwhile.
  t.deepEqual(when(lateExchange(), { type: 'CompleteExchange', data: { exchangeId: 'x1', grantRevision: '0' } }, T0 + TTL + 1000).map((e) => e.type), ['FlowCompleted']);
});

test('an expiry inside the exchange grace folds by the rule of the machine version that wrote it', (t) => {
  t.is(lateExchange(['FlowExpired', expiry, T0 + TTL + 1000, 1]).value, 'expired', 'v1 histories replay as they did');
  t.is(lateExchange(['FlowExpired', expiry, T0 + TTL + 1000, 2]).value, 'exchanging', 'v2 never takes it');
});

test('a replaced pending flow is superseded, or expired when its time is up', (t) => {
  t.deepEqual(when(pending(), { type: 'EndReplacedFlow', by: 'newflow' }), [{ type: 'FlowSuperseded', data: { by: 'newflow' } }]);
  t.deepEqual(when(pending(), { type: 'EndReplacedFlow', by: 'newflow' }, T0 + TTL + 1).map((e) => e.type), ['FlowExpired']);
});

test('nothing follows a final state', (t) => {
  const cancelled = given([['FlowInitiated', initiated()], ['FlowCancelled', {}]]);
  for (const cmd of [
    { type: 'BindBrowser', bindingHash: hashOf('z') },
    { type: 'StartExchange', exchangeId: 'x', codeHash: hashOf('c') },
    { type: 'RecordCallbackError', error: 'access_denied' },
    { type: 'ExpireFlow' },
    { type: 'CancelFlow' },
  ] as const) {
    t.deepEqual(when(cancelled, cmd, T0 + TTL * 2), [], cmd.type);
  }
});

test('a payload that breaks its schema is refused before append', (t) => {
  t.throws(() => when(pending(), { type: 'RecordCallbackError', error: 'bad error with spaces' }), { code: 'invalid_event_payload' } as never);
});
