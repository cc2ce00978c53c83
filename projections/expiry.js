/*
 * expiry: the flows still open (pending or exchanging) with their expiry time, one state for
 * the whole log. The expiry worker reads it and appends `FlowExpired` for those past due (and,
 * mid-exchange, past the exchange's grace) through the flow machine, whose guard refuses an
 * early expiry. The state only holds open flows, so it stays as small as the number of
 * attempts in progress.
 *
 * EventStoreDB JavaScript projection, ES5 only; time comes from event data and metadata.
 */
options({ $includeLinks: false });

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

/*
 * The flow machine's expiry guard (src/flow/machine.ts, isPastExchangeExpiry): an expiry counts
 * at or past the flow's expiry; mid-exchange, one written by machine v2 only 60 s (the
 * machine's EXCHANGE_GRACE_MS) past the exchange's start as well, so a live claimant's outcome
 * is never overtaken. Expiries written by machine v1 keep v1's rule.
 */
var EXCHANGE_GRACE_MS = 60000;

function expiryAccepted(f, e) {
  var at = Date.parse(atOf(e));
  // Written this way a missing time (NaN) is never past anything.
  if (!(at >= Date.parse(f.expiresAt))) return false;
  if (f.state !== 'exchanging' || !f.exchangeStartedAt) return true;
  return e.metadata.machineVersion < 2 || at >= Date.parse(f.exchangeStartedAt) + EXCHANGE_GRACE_MS;
}

function close(s, e) {
  delete s.open[e.streamId];
  s.closed++;
  return s;
}

fromCategory('flow')
  .when({
    $init: function () {
      return { open: {}, closed: 0 };
    },
    FlowInitiated: function (s, e) {
      if (s.open[e.streamId]) return s;
      s.open[e.streamId] = { flowId: e.data.flowId, expiresAt: e.data.expiresAt, state: 'pending', exchangeId: null, exchangeStartedAt: null };
      return s;
    },
    CallbackErrored: function (s, e) {
      var f = s.open[e.streamId];
      return f && f.state === 'pending' ? close(s, e) : s;
    },
    CodeExchangeStarted: function (s, e) {
      var f = s.open[e.streamId];
      if (f && f.state === 'pending') {
        f.state = 'exchanging';
        f.exchangeId = e.data.exchangeId;
        f.exchangeStartedAt = atOf(e);
      }
      return s;
    },
    FlowCompleted: function (s, e) {
      var f = s.open[e.streamId];
      return f && f.state === 'exchanging' && f.exchangeId === e.data.exchangeId ? close(s, e) : s;
    },
    ClientRejected: function (s, e) {
      var f = s.open[e.streamId];
      return f && f.state === 'exchanging' && f.exchangeId === e.data.exchangeId ? close(s, e) : s;
    },
    FlowFailed: function (s, e) {
      var f = s.open[e.streamId];
      if (!f) return s;
      return f.state === 'pending' || f.exchangeId === e.data.exchangeId ? close(s, e) : s;
    },
    FlowCancelled: function (s, e) {
      var f = s.open[e.streamId];
      return f && f.state === 'pending' ? close(s, e) : s;
    },
    FlowSuperseded: function (s, e) {
      var f = s.open[e.streamId];
      return f && f.state === 'pending' ? close(s, e) : s;
    },
    FlowExpired: function (s, e) {
      var f = s.open[e.streamId];
      return f && expiryAccepted(f, e) ? close(s, e) : s;
    }
  })
  .outputState();
