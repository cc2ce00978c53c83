/*
 * servers: the user-managed MCP servers (`server-<id>` streams) for the registry's list route,
 * plus, per server, what a change to it must clean up: each user's current attempt and grant
 * (`connection-<key>`, `grant-<key>`) and the client registrations made for it
 * (`client-<registrationKey>`). Configured servers are not here: they come from MCP_SERVERS.
 *
 * One state for the whole log, keyed by server name inside: the list route filters, searches
 * and pages over all servers a user may see, which a partitioned projection cannot offer
 * through `getProjectionState`. Secrets stay out: header values and the client secret are
 * sealed in the events, and only header names and "a secret is set" are kept here.
 *
 * Connection, grant and client events of servers this projection does not know (configured
 * ones, or removed ones) are ignored, which keeps the state to user-managed servers.
 *
 * EventStoreDB JavaScript projection, ES5 only; time comes from event metadata.
 */
options({ $includeLinks: false });

function atOf(e) {
  return e.metadata && e.metadata.at ? e.metadata.at : null;
}

function keyOf(streamId) {
  return streamId.substring(streamId.indexOf('-') + 1);
}

function headerNames(headers) {
  var names = [];
  if (!headers) return names;
  for (var k in headers) {
    if (Object.prototype.hasOwnProperty.call(headers, k)) names.push(k);
  }
  names.sort();
  return names;
}

/** OAuth options without the (sealed) client secret; `hasClientSecret` says whether one is set. */
function publicOAuth(oauth) {
  if (!oauth) return null;
  var out = {};
  for (var k in oauth) {
    if (Object.prototype.hasOwnProperty.call(oauth, k) && k !== 'client_secret') out[k] = oauth[k];
  }
  out.hasClientSecret = !!oauth.client_secret;
  return out;
}

function serverOf(s, e) {
  var name = s.streams[e.streamId];
  return name ? s.servers[name] : undefined;
}

function userOf(server, key, userId) {
  var u = server.users[key];
  if (!u) {
    u = { userId: userId, flowId: null, grant: false };
    server.users[key] = u;
  }
  return u;
}

fromCategories(['server', 'connection', 'grant', 'client'])
  .when({
    $init: function () {
      return { servers: {}, streams: {}, userKeys: {} };
    },
    ServerRegistered: function (s, e) {
      var d = e.data;
      s.streams[e.streamId] = d.serverName;
      s.servers[d.serverName] = {
        serverId: d.serverId,
        serverName: d.serverName,
        ownerId: d.ownerId,
        title: d.title,
        description: d.description === undefined ? null : d.description,
        url: d.url,
        headerNames: headerNames(d.headers),
        oauth: publicOAuth(d.oauth),
        shares: {},
        users: {},
        registrations: {},
        createdAt: atOf(e),
        updatedAt: atOf(e)
      };
      return s;
    },
    ServerUpdated: function (s, e) {
      var server = serverOf(s, e);
      if (!server) return s;
      var d = e.data;
      if (d.title !== undefined) server.title = d.title;
      if (d.url !== undefined) server.url = d.url;
      if (d.description !== undefined) server.description = d.description;
      if (d.headers !== undefined) server.headerNames = headerNames(d.headers);
      if (d.oauth !== undefined) server.oauth = publicOAuth(d.oauth);
      server.updatedAt = atOf(e);
      return s;
    },
    ServerShared: function (s, e) {
      var server = serverOf(s, e);
      if (!server) return s;
      server.shares[e.data.userId] = e.data.level;
      server.updatedAt = atOf(e);
      return s;
    },
    ServerUnshared: function (s, e) {
      var server = serverOf(s, e);
      if (!server) return s;
      delete server.shares[e.data.userId];
      server.updatedAt = atOf(e);
      return s;
    },
    ServerRemoved: function (s, e) {
      var server = serverOf(s, e);
      if (!server) return s;
      for (var k in server.users) {
        if (Object.prototype.hasOwnProperty.call(server.users, k)) delete s.userKeys[k];
      }
      delete s.servers[server.serverName];
      delete s.streams[e.streamId];
      return s;
    },
    ConnectionAttemptStarted: function (s, e) {
      var server = s.servers[e.data.serverName];
      if (!server) return s;
      var key = keyOf(e.streamId);
      s.userKeys[key] = e.data.serverName;
      userOf(server, key, e.data.userId).flowId = e.data.flowId;
      return s;
    },
    TokensIssued: function (s, e) {
      var server = s.servers[e.data.serverName];
      if (!server) return s;
      var key = keyOf(e.streamId);
      s.userKeys[key] = e.data.serverName;
      userOf(server, key, e.data.userId).grant = true;
      return s;
    },
    GrantRevoked: function (s, e) {
      var key = keyOf(e.streamId);
      var server = s.servers[s.userKeys[key]];
      if (!server || !server.users[key]) return s;
      server.users[key].grant = false;
      return s;
    },
    ClientRegistrationStarted: function (s, e) {
      var server = s.servers[e.data.serverName];
      if (!server) return s;
      var key = keyOf(e.streamId);
      server.registrations[key] = true;
      return s;
    }
  })
  .outputState();
