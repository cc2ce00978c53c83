/*
 * connections: one partition per (user, MCP server), keyed like the streams themselves: the
 * hashed user key after the category in `connection-<key>` and `grant-<key>` (no personal
 * data in partition names). It holds the current attempt and whether a grant is present.
 *
 * The current attempt's own status is not folded here: the flow events after `FlowInitiated`
 * carry no user or server, so `partitionBy` cannot route them to this partition. Readers join
 * `flowId` with the `flow-status` projection (src/projector/queries.ts does).
 *
 * EventStoreDB JavaScript projection, ES5 only; time comes from event metadata.
 */
options({ $includeLinks: false });

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

fromCategories(['connection', 'grant'])
  .partitionBy(function (e) {
    var i = e.streamId.indexOf('-');
    return i < 0 ? null : e.streamId.substring(i + 1);
  })
  .when({
    $init: function () {
      return {
        userId: null,
        serverName: null,
        flowId: null,
        attemptStartedAt: null,
        expiresAt: null,
        supersedes: null,
        attempts: 0,
        grant: false,
        grantFlowId: null,
        grantIssuedAt: null,
        grantRevokedAt: null,
        updatedAt: null
      };
    },
    ConnectionAttemptStarted: function (s, e) {
      var d = e.data;
      s.userId = d.userId;
      s.serverName = d.serverName;
      s.flowId = d.flowId;
      s.attemptStartedAt = atOf(e);
      s.expiresAt = d.expiresAt;
      s.supersedes = d.supersedes || null;
      s.attempts++;
      s.updatedAt = atOf(e);
      return s;
    },
    TokensIssued: function (s, e) {
      var d = e.data;
      s.userId = d.userId;
      s.serverName = d.serverName;
      s.grant = true;
      s.grantFlowId = d.flowId;
      s.grantIssuedAt = atOf(e);
      s.updatedAt = atOf(e);
      return s;
    },
    GrantRevoked: function (s, e) {
      s.grant = false;
      s.grantRevokedAt = atOf(e);
      s.updatedAt = atOf(e);
      return s;
    }
  })
  .outputState();
