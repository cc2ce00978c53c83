/*
 * client-health: every client registration (`client-<registrationKey>`, one per MCP server,
 * issuer and redirect_uri) with how it fares: reuses, rejections (after reuse, in a row),
 * successes, and the decision `stale`. The stale-client worker reads `stale` and appends
 * `ClientRegistrationDiscarded` (reason `stale`) with an expected revision.
 *
 * One state for the whole log, keyed by registration inside: the worker and the dashboard
 * must list registrations, which a partitioned projection cannot offer through
 * `getProjectionState`. Registrations are few (servers x issuers x redirect URIs).
 *
 * A registration is stale when it is live (registered) and either an authorization server
 * rejected it after it had been reused (it was valid once, so the server forgot it), or it was
 * rejected MAX_CONSECUTIVE_REJECTIONS times in a row with no success in between.
 *
 * EventStoreDB JavaScript projection, ES5 only; time comes from event metadata.
 */
options({ $includeLinks: false });

var MAX_CONSECUTIVE_REJECTIONS = 3;
var KEEP_CLEANUPS = 50;

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

function keyOf(streamId) {
  return streamId.substring(streamId.indexOf('-') + 1);
}

function registration(s, key) {
  var r = s.registrations[key];
  if (!r) {
    r = {
      registrationKey: key,
      serverName: null,
      issuer: null,
      status: 'none',
      claimId: null,
      clientId: null,
      registeredAt: null,
      updatedAt: null,
      reuses: 0,
      successes: 0,
      rejections: 0,
      rejectionsAfterReuse: 0,
      consecutiveRejections: 0,
      consecutiveFailures: 0,
      stale: false,
      staleReason: null,
      discards: 0,
      lastDiscard: null
    };
    s.registrations[key] = r;
  }
  return r;
}

function decide(r) {
  r.staleReason = null;
  if (r.status === 'registered') {
    if (r.rejectionsAfterReuse > 0) r.staleReason = 'rejected_after_reuse';
    else if (r.consecutiveRejections >= MAX_CONSECUTIVE_REJECTIONS) r.staleReason = 'consecutive_rejections';
  }
  r.stale = r.staleReason !== null;
}

/** The live client of a registration, if the event names it. */
function liveClient(s, key, clientId) {
  var r = key ? s.registrations[key] : undefined;
  return r && r.clientId !== null && r.clientId === clientId ? r : null;
}

fromAll()
  .when({
    $init: function () {
      return { registrations: {}, cleanups: [], staleCleanups: 0, discards: 0 };
    },
    ClientRegistrationStarted: function (s, e) {
      var r = registration(s, keyOf(e.streamId));
      r.serverName = e.data.serverName;
      r.issuer = e.data.issuer;
      r.status = 'registering';
      r.claimId = e.data.claimId;
      r.clientId = null;
      r.updatedAt = atOf(e);
      decide(r);
      return s;
    },
    ClientRegistered: function (s, e) {
      var r = s.registrations[keyOf(e.streamId)];
      if (!r || e.data.claimId !== r.claimId) return s;
      r.status = 'registered';
      r.clientId = e.data.clientId;
      r.issuer = e.data.issuer;
      r.registeredAt = atOf(e);
      r.updatedAt = atOf(e);
      r.reuses = 0;
      r.successes = 0;
      r.rejections = 0;
      r.rejectionsAfterReuse = 0;
      r.consecutiveRejections = 0;
      r.consecutiveFailures = 0;
      decide(r);
      return s;
    },
    ClientRegistrationFailed: function (s, e) {
      var r = s.registrations[keyOf(e.streamId)];
      if (!r || e.data.claimId !== r.claimId) return s;
      r.status = 'failed';
      r.consecutiveFailures++;
      r.updatedAt = atOf(e);
      decide(r);
      return s;
    },
    ClientRegistrationDiscarded: function (s, e) {
      var r = liveClient(s, keyOf(e.streamId), e.data.clientId);
      if (!r) return s;
      r.status = 'discarded';
      r.discards++;
      r.lastDiscard = { reason: e.data.reason, at: atOf(e), clientId: e.data.clientId };
      r.updatedAt = atOf(e);
      decide(r);
      s.discards++;
      if (e.data.reason === 'stale') {
        s.staleCleanups++;
        s.cleanups.push({ registrationKey: r.registrationKey, serverName: r.serverName, clientId: e.data.clientId, at: atOf(e) });
        if (s.cleanups.length > KEEP_CLEANUPS) s.cleanups.shift();
      }
      return s;
    },
    ClientReused: function (s, e) {
      var r = liveClient(s, e.data.registrationKey, e.data.clientId);
      if (!r) return s;
      r.reuses++;
      r.updatedAt = atOf(e);
      return s;
    },
    ClientRejected: function (s, e) {
      var r = liveClient(s, e.data.registrationKey, e.data.clientId);
      if (!r) return s;
      r.rejections++;
      r.consecutiveRejections++;
      if (e.data.reused) r.rejectionsAfterReuse++;
      r.updatedAt = atOf(e);
      decide(r);
      return s;
    },
    TokensIssued: function (s, e) {
      var r = liveClient(s, e.data.registrationKey, e.data.clientId);
      if (!r) return s;
      r.successes++;
      r.consecutiveRejections = 0;
      r.updatedAt = atOf(e);
      decide(r);
      return s;
    }
  })
  .outputState();
