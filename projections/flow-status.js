/*
 * flow-status: one partition per flow stream (`flow-<flowId>`), the state the status route
 * and the audit views read. It mirrors the flow machine's transitions and guards
 * (src/flow/machine.ts) so an event the machine would ignore is ignored here too; the
 * projection tests fold random logs through both and compare.
 *
 * EventStoreDB JavaScript projection, ES5 only (the same file runs in the embedded projector).
 * Time comes from event metadata (`at`): the envelope carries no timestamp, and a handler that
 * read a clock would give a different state on every rebuild.
 */
options({ $includeLinks: false });

var STATUS = {
  pending: 'PENDING',
  exchanging: 'PENDING',
  completed: 'COMPLETED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  superseded: 'CANCELLED',
  expired: 'EXPIRED'
};

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

function isOpen(s) {
  return s.state === 'pending' || s.state === 'exchanging';
}

function end(s, e, state, error, oauthError) {
  s.state = state;
  s.status = STATUS[state];
  s.error = error;
  s.oauthError = oauthError || null;
  s.endedAt = atOf(e);
  s.updatedAt = atOf(e);
  return s;
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

function isCurrentExchange(s, e) {
  return e.data.exchangeId !== undefined && e.data.exchangeId === s.exchangeId;
}

fromCategory('flow')
  .foreachStream()
  .when({
    $init: function () {
      return {
        flowId: null,
        userId: null,
        serverName: null,
        state: 'new',
        status: null,
        error: null,
        oauthError: null,
        initiatedAt: null,
        updatedAt: null,
        endedAt: null,
        expiresAt: null,
        clientId: null,
        registrationKey: null,
        reusedClient: false,
        exchangeId: null,
        exchangeStartedAt: null,
        supersededBy: null
      };
    },
    FlowInitiated: function (s, e) {
      if (s.state !== 'new') return s;
      var d = e.data;
      s.flowId = d.flowId;
      s.userId = d.userId;
      s.serverName = d.serverName;
      s.state = 'pending';
      s.status = 'PENDING';
      s.initiatedAt = atOf(e);
      s.updatedAt = atOf(e);
      s.expiresAt = d.expiresAt;
      s.clientId = d.client ? d.client.clientId : null;
      s.registrationKey = d.client && d.client.registrationKey ? d.client.registrationKey : null;
      return s;
    },
    ClientReused: function (s, e) {
      if (s.state !== 'pending' || s.reusedClient) return s;
      s.reusedClient = true;
      s.registrationKey = e.data.registrationKey;
      s.updatedAt = atOf(e);
      return s;
    },
    CallbackErrored: function (s, e) {
      if (s.state !== 'pending') return s;
      return end(s, e, 'failed', e.data.error, e.data.error);
    },
    CodeExchangeStarted: function (s, e) {
      if (s.state !== 'pending') return s;
      s.state = 'exchanging';
      s.exchangeId = e.data.exchangeId;
      s.exchangeStartedAt = atOf(e);
      s.updatedAt = atOf(e);
      return s;
    },
    FlowCompleted: function (s, e) {
      if (s.state !== 'exchanging' || !isCurrentExchange(s, e)) return s;
      return end(s, e, 'completed', null, null);
    },
    ClientRejected: function (s, e) {
      if (s.state !== 'exchanging' || !isCurrentExchange(s, e)) return s;
      return end(s, e, 'failed', 'client_rejected', e.data.oauthError);
    },
    FlowFailed: function (s, e) {
      if (s.state === 'pending' || (s.state === 'exchanging' && isCurrentExchange(s, e))) {
        return end(s, e, 'failed', e.data.reason, e.data.oauthError);
      }
      return s;
    },
    FlowCancelled: function (s, e) {
      if (s.state !== 'pending') return s;
      return end(s, e, 'cancelled', 'flow_cancelled', null);
    },
    FlowExpired: function (s, e) {
      if (!isOpen(s) || !expiryAccepted(s, e)) return s;
      return end(s, e, 'expired', 'flow_expired', null);
    },
    FlowSuperseded: function (s, e) {
      if (s.state !== 'pending') return s;
      end(s, e, 'superseded', 'flow_superseded', null);
      s.supersededBy = e.data.by;
      return s;
    }
  })
  .outputState();
