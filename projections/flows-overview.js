/*
 * flows-overview: the operators' figures in one state: flows by server and status, failure
 * reasons by server, a histogram of how long completed flows took, and a per-hour series of
 * what happened (by the hour of the event's own `at`, UTC), kept for the last KEEP_HOURS hours.
 *
 * To count a flow's end under its server the projection remembers the open flows (server,
 * machine state, exchange id) until they end; that map is as small as the attempts in
 * progress. Guards mirror the flow machine (src/flow/machine.ts).
 *
 * EventStoreDB JavaScript projection, ES5 only; time comes from event data and metadata.
 */
options({ $includeLinks: false });

/** Upper bounds (seconds) of the duration buckets; the last bucket is everything above. */
var BUCKETS = [5, 15, 30, 60, 120, 300, 600];
var KEEP_HOURS = 168;
var HOUR_MS = 3600000;

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

function server(s, name) {
  var c = s.byServer[name];
  if (!c) {
    c = { PENDING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, EXPIRED: 0 };
    s.byServer[name] = c;
  }
  return c;
}

function hour(s, at) {
  var key = at.substring(0, 13);
  var h = s.hours[key];
  if (!h) {
    h = { initiated: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };
    s.hours[key] = h;
    if (key > s.lastHour) {
      s.lastHour = key;
      // Drop hours that fell out of the window; the window follows event time, not a clock.
      var cutoff = new Date(Date.parse(key + ':00:00.000Z') - KEEP_HOURS * HOUR_MS).toISOString().substring(0, 13);
      for (var k in s.hours) {
        if (k <= cutoff) delete s.hours[k];
      }
    }
  }
  return h;
}

function bucketOf(seconds) {
  for (var i = 0; i < BUCKETS.length; i++) {
    if (seconds <= BUCKETS[i]) return i;
  }
  return BUCKETS.length;
}

/** Ends an open flow: moves it from PENDING to its final status, counts its reason and hour. */
function end(s, e, status, error) {
  var f = s.open[e.streamId];
  delete s.open[e.streamId];
  var c = server(s, f.serverName);
  c.PENDING--;
  c[status]++;
  s.totals[status]++;
  s.totals.PENDING--;
  if (error !== null) {
    var errors = s.errorsByServer[f.serverName] || (s.errorsByServer[f.serverName] = {});
    errors[error] = (errors[error] || 0) + 1;
  }
  var at = atOf(e);
  var h = hour(s, at);
  h[status.toLowerCase()]++;
  if (status === 'COMPLETED') {
    var seconds = (Date.parse(at) - Date.parse(f.initiatedAt)) / 1000;
    s.durations.counts[bucketOf(seconds)]++;
    s.durations.count++;
    s.durations.sumSeconds += seconds;
  }
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

function openFlow(s, e, state) {
  var f = s.open[e.streamId];
  return f && f.state === state ? f : null;
}

fromCategory('flow')
  .when({
    $init: function () {
      var counts = [];
      for (var i = 0; i <= BUCKETS.length; i++) counts.push(0);
      return {
        totals: { initiated: 0, PENDING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, EXPIRED: 0 },
        byServer: {},
        errorsByServer: {},
        durations: { bucketsSeconds: BUCKETS, counts: counts, count: 0, sumSeconds: 0 },
        hours: {},
        lastHour: '',
        open: {}
      };
    },
    FlowInitiated: function (s, e) {
      if (s.open[e.streamId]) return s;
      var d = e.data;
      s.open[e.streamId] = { serverName: d.serverName, state: 'pending', exchangeId: null, exchangeStartedAt: null, initiatedAt: atOf(e), expiresAt: d.expiresAt };
      server(s, d.serverName).PENDING++;
      s.totals.initiated++;
      s.totals.PENDING++;
      hour(s, atOf(e)).initiated++;
      return s;
    },
    CallbackErrored: function (s, e) {
      return openFlow(s, e, 'pending') ? end(s, e, 'FAILED', e.data.error) : s;
    },
    CodeExchangeStarted: function (s, e) {
      var f = openFlow(s, e, 'pending');
      if (f) {
        f.state = 'exchanging';
        f.exchangeId = e.data.exchangeId;
        f.exchangeStartedAt = atOf(e);
      }
      return s;
    },
    FlowCompleted: function (s, e) {
      var f = openFlow(s, e, 'exchanging');
      return f && f.exchangeId === e.data.exchangeId ? end(s, e, 'COMPLETED', null) : s;
    },
    ClientRejected: function (s, e) {
      var f = openFlow(s, e, 'exchanging');
      return f && f.exchangeId === e.data.exchangeId ? end(s, e, 'FAILED', 'client_rejected') : s;
    },
    FlowFailed: function (s, e) {
      var f = s.open[e.streamId];
      if (!f) return s;
      return f.state === 'pending' || f.exchangeId === e.data.exchangeId ? end(s, e, 'FAILED', e.data.reason) : s;
    },
    FlowCancelled: function (s, e) {
      return openFlow(s, e, 'pending') ? end(s, e, 'CANCELLED', null) : s;
    },
    FlowSuperseded: function (s, e) {
      return openFlow(s, e, 'pending') ? end(s, e, 'CANCELLED', null) : s;
    },
    FlowExpired: function (s, e) {
      var f = s.open[e.streamId];
      return f && expiryAccepted(f, e) ? end(s, e, 'EXPIRED', 'flow_expired') : s;
    }
  })
  .outputState();
