import { systemClock, systemRandom, type Clock, type Random } from '../clock.js';
import type { Engine } from '../engine.js';
import { EngineError, ErrorCode, isEngineError, quote } from '../errors.js';
import { readDomainEvents } from '../flow/commandHandler.js';
import { silentLogger, type Logger, type Sealer } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import { grantStream } from '../flow/streams.js';
import { foldGrant } from '../grants/fold.js';
import { isAllowedHost } from '../oauth/addressPolicy.js';
import { checkPublicUrl, type ResolveHost } from '../oauth/publicUrl.js';
import type { McpServerConfig } from '../oauth/types.js';
import { loadProjectionFiles } from '../projector/loadProjections.js';
import { startProjector } from '../projector/projector.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import { createMemoryProjectionState, type ProjectionStateStore } from '../store/projectionState/index.js';
import type { EventData, EventStore } from '../store/types.js';
import { accessOf, can, type Access, type Action, type Actor } from './access.js';
import { serverNameStream, serverStream, type RegistryEventData, type ShareLevel } from './events.js';
import { discardRegistrations, revokeGrants, supersedePending } from './effects.js';
import { foldServer, type ServerState } from './fold.js';
import { SERVERS_PROJECTION, type ProjectedServer, type ServersState } from './projectionState.js';
import { openConfig, openHeaders, openOAuth, sealHeaders, sealOAuth } from './sealing.js';
import { candidateNames, USER_SERVER_NAME } from './serverName.js';
import type { ServerInput, ServerPatch } from './validate.js';
import { configView, projectedView, stateView, type ServerView } from './view.js';

/** The projection reads the registry needs; a projector running `projections/` has them. */
export interface ServersReader {
  catchUp(timeoutMs: number, names?: string[]): Promise<void>;
  getState<T>(name: string, partition?: string): Promise<T | undefined>;
}

export interface ServerRegistryOptions {
  store: EventStore;
  sealer: Sealer;
  /** `MCP_SERVERS`: listed read-only for everyone; their names are never given to user servers. */
  configServers: Record<string, McpServerConfig>;
  /** `ALLOWED_DOMAINS`, for the URL checks (the same rules as the OAuth driver). */
  allowedDomains: readonly string[];
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** DNS for the URL checks (tests inject answers). */
  resolveHost?: ResolveHost;
  /**
   * A projector already running `projections/servers.js` (the composition's, when it has
   * one). Without it the registry runs its own over `store`, with only that file.
   */
  reader?: ServersReader;
  /** State store of the registry's own projector (default: memory, rebuilt at start). */
  stateStore?: ProjectionStateStore;
  /** How long list reads wait for the projection to show the caller's writes (default 10 s). */
  waitMs?: number;
}

/** A command's context: who asks, under which correlation id, with which engine for the effects. */
export interface RegistryCommand {
  actor: Actor;
  correlationId: string;
  engine: Engine;
}

export interface ListQuery {
  limit: number;
  after?: string;
  search?: string;
}

export interface AuthValues {
  serverName: string;
  /** Per-user credential values (the reference's `customUserVars`); none are configurable here yet. */
  authValueFlags: Record<string, boolean>;
  /** Whether this user holds OAuth tokens for the server (never the tokens). */
  oauth: { tokens: boolean; refreshToken: boolean };
}

/**
 * The MCP server registry: configured servers (read-only) and user-managed ones, stored as
 * events (`server-<id>`, name claims `servername-<name>`), listed from the `servers`
 * projection. Plugs into the engine through {@link ServerRegistry.resolveServer} and
 * {@link ServerRegistry.listServers}.
 */
export interface ServerRegistry {
  /** The engine's `resolveServer` hook: user-managed servers the user may see, secrets opened. */
  resolveServer(serverName: string, userId?: string): Promise<McpServerConfig | undefined>;
  /** The engine's `listServers` hook: configured names plus the user's own and shared ones. */
  listServers(userId?: string): Promise<string[]>;
  list(actor: Actor, query: ListQuery): Promise<{ servers: ServerView[]; nextCursor?: string }>;
  get(actor: Actor, serverName: string): Promise<ServerView>;
  create(cmd: RegistryCommand, input: ServerInput): Promise<ServerView>;
  update(cmd: RegistryCommand, serverName: string, patch: ServerPatch): Promise<ServerView>;
  remove(cmd: RegistryCommand, serverName: string): Promise<{ serverName: string; revokedGrants: number }>;
  share(cmd: RegistryCommand, serverName: string, userId: string, level: ShareLevel): Promise<ServerView>;
  unshare(cmd: RegistryCommand, serverName: string, userId: string): Promise<ServerView>;
  authValues(actor: Actor, serverName: string): Promise<AuthValues>;
  /** Stops the registry's own projector, if it started one. */
  stop(): Promise<void>;
}

const notFound = (serverName: string) => new EngineError(ErrorCode.NOT_FOUND, `MCP server ${quote(serverName, 80)} not found`);

interface Loaded {
  state: ServerState;
  stream: string;
  access: Access;
}

export function createServerRegistry(options: ServerRegistryOptions): ServerRegistry {
  const { store, sealer, configServers } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const logger = options.logger ?? silentLogger;
  const waitMs = options.waitMs ?? 10_000;
  const own = options.reader
    ? undefined
    : startProjector({
        store,
        stateStore: options.stateStore ?? createMemoryProjectionState(),
        projections: loadProjectionFiles().filter((f) => f.name === SERVERS_PROJECTION),
        logger,
      });
  const reader: ServersReader = options.reader ?? own!;
  const isConfigured = (name: string) => Object.hasOwn(configServers, name);
  const ctxOf = (cmd: RegistryCommand): CommandContext => ({ now: clock.now(), correlationId: cmd.correlationId, actor: cmd.actor.userId });

  /** The server a name was claimed for, folded; null when there is none (or it was never written). */
  async function readByName(serverName: string): Promise<{ state: ServerState; stream: string } | null> {
    if (!USER_SERVER_NAME.test(serverName)) return null;
    const claim = (await readDomainEvents(store, serverNameStream(serverName)))[0];
    if (!claim) return null;
    const stream = serverStream((claim.data as RegistryEventData<'ServerNameClaimed'>).serverId);
    const state = foldServer(await readDomainEvents(store, stream));
    return state ? { state, stream } : null;
  }

  /**
   * The server with the actor's access, checked for `action`. Servers the actor may not see
   * are 404 exactly like missing ones (no existence oracle); visible but not permitted is 403.
   */
  async function load(actor: Actor, serverName: string, action: Action): Promise<Loaded> {
    const found = await readByName(serverName);
    const access = found ? accessOf(found.state, actor) : null;
    if (!found || access === null) throw notFound(serverName);
    if (!can(access, action)) throw new EngineError(ErrorCode.FORBIDDEN, `You may not ${action} MCP server ${quote(serverName, 80)}`);
    return { ...found, access };
  }

  function refuseConfigured(serverName: string): void {
    if (isConfigured(serverName)) throw new EngineError(ErrorCode.SERVER_READ_ONLY, `MCP server ${quote(serverName, 80)} comes from the configuration file and is read-only`);
  }

  async function checkUrl(field: string, url: string | undefined): Promise<void> {
    if (url === undefined) return;
    try {
      await checkPublicUrl(url, options.allowedDomains, options.resolveHost);
    } catch (err) {
      if (isEngineError(err)) throw new EngineError(ErrorCode.SERVER_URL_REFUSED, `${quote(field)}: ${err.message}`, { details: err.details ?? {} });
      throw err;
    }
  }

  /** URL rules of the OAuth driver, applied before anything is recorded. */
  async function checkUrls(input: { url?: string; oauth?: ServerInput['oauth'] | null }): Promise<void> {
    await checkUrl('config.url', input.url);
    await checkUrl('config.oauth.token_url', input.oauth?.token_url ?? undefined);
    const auth = input.oauth?.authorization_url;
    // The browser, not the engine, goes there: only the scheme rule applies.
    if (auth && new URL(auth).protocol !== 'https:' && !isAllowedHost(new URL(auth), options.allowedDomains)) {
      throw new EngineError(ErrorCode.SERVER_URL_REFUSED, '"config.oauth.authorization_url": plain http is only accepted for hosts in ALLOWED_DOMAINS');
    }
  }

  /** Appends to a server stream at the revision read; re-reads and re-decides on a concurrent write. */
  async function command(
    cmd: RegistryCommand,
    serverName: string,
    action: Action,
    decide: (loaded: Loaded) => EventData[],
  ): Promise<{ loaded: Loaded; appended: EventData[] }> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await load(cmd.actor, serverName, action);
      const events = decide(loaded);
      if (events.length === 0) return { loaded, appended: [] };
      try {
        await store.appendToStream(loaded.stream, events, { expectedRevision: loaded.state.revision });
        return { loaded, appended: events };
      } catch (err) {
        if (!isWrongExpectedVersion(err) || attempt >= 8) throw err;
      }
    }
  }

  async function projected(serverName: string): Promise<ProjectedServer | undefined> {
    await reader.catchUp(waitMs, [SERVERS_PROJECTION]);
    const s = await reader.getState<ServersState>(SERVERS_PROJECTION);
    return s && Object.hasOwn(s.servers, serverName) ? s.servers[serverName] : undefined;
  }

  async function viewOf(actor: Actor, serverName: string): Promise<ServerView> {
    const { state, access } = await load(actor, serverName, 'view');
    return stateView(state, access);
  }

  return {
    async resolveServer(serverName, userId) {
      const found = await readByName(serverName);
      if (!found || found.state.removed) return undefined;
      if (userId !== undefined && accessOf(found.state, { userId }) === null) return undefined;
      return openConfig(sealer, found.stream, found.state);
    },

    async listServers(userId) {
      const names = Object.keys(configServers);
      await reader.catchUp(waitMs, [SERVERS_PROJECTION]);
      const s = await reader.getState<ServersState>(SERVERS_PROJECTION);
      for (const p of Object.values(s?.servers ?? {})) {
        if (userId === undefined || accessOf(p, { userId }) !== null) names.push(p.serverName);
      }
      return names;
    },

    async list(actor, query) {
      await reader.catchUp(waitMs, [SERVERS_PROJECTION]);
      const s = await reader.getState<ServersState>(SERVERS_PROJECTION);
      const all: ServerView[] = Object.entries(configServers).map(([name, c]) => configView(name, c));
      for (const p of Object.values(s?.servers ?? {})) {
        const access = accessOf(p, actor);
        if (access !== null) all.push(projectedView(p, access));
      }
      const needle = query.search?.normalize('NFC').toLowerCase();
      const matches = needle
        ? all.filter((v) => v.title.toLowerCase().includes(needle) || (v.description ?? '').toLowerCase().includes(needle))
        : all;
      // Code-point order on the unique name: a stable order for the cursor.
      matches.sort((a, b) => (a.serverName < b.serverName ? -1 : a.serverName > b.serverName ? 1 : 0));
      const from = query.after === undefined ? 0 : matches.findIndex((v) => v.serverName > query.after!);
      const rest = from < 0 ? [] : matches.slice(from);
      const page = rest.slice(0, query.limit);
      return rest.length > page.length ? { servers: page, nextCursor: page[page.length - 1]!.serverName } : { servers: page };
    },

    async get(actor, serverName) {
      if (isConfigured(serverName)) return configView(serverName, configServers[serverName]!);
      return viewOf(actor, serverName);
    },

    async create(cmd, input) {
      await checkUrls(input);
      const serverId = random.token(16);
      const stream = serverStream(serverId);
      const ctx = ctxOf(cmd);
      let serverName: string | undefined;
      for (const candidate of candidateNames(input.title, Object.keys(configServers), () => random.token(4).toLowerCase().replace(/[^a-z0-9]/g, '0'))) {
        try {
          await store.appendToStream(serverNameStream(candidate), newEvent('ServerNameClaimed', { serverName: candidate, serverId }, ctx), { expectedRevision: 'no_stream' });
          serverName = candidate;
          break;
        } catch (err) {
          if (!isWrongExpectedVersion(err)) throw err; // taken: try the next candidate
        }
      }
      if (!serverName) throw new EngineError(ErrorCode.SERVER_NAME_TAKEN, `No free server name for the title ${quote(input.title, 80)}`);
      const registered = newEvent('ServerRegistered', {
        serverId,
        serverName,
        ownerId: cmd.actor.userId,
        title: input.title,
        ...(input.description !== undefined ? { description: input.description } : {}),
        url: input.url,
        ...(input.headers && Object.keys(input.headers).length ? { headers: sealHeaders(sealer, stream, input.headers) } : {}),
        ...(input.oauth ? { oauth: sealOAuth(sealer, stream, input.oauth) } : {}),
      }, ctx);
      await store.appendToStream(stream, registered, { expectedRevision: 'no_stream' });
      return viewOf(cmd.actor, serverName);
    },

    async update(cmd, serverName, patch) {
      refuseConfigured(serverName);
      await load(cmd.actor, serverName, 'edit'); // 404/403 before any DNS lookup
      await checkUrls(patch);
      const ctx = ctxOf(cmd);
      let endpointChanged = false;
      const { appended } = await command(cmd, serverName, 'edit', ({ state, stream }) => {
        const changes = changedFields(state, stream, patch);
        endpointChanged = changes.url !== undefined || changes.oauth !== undefined;
        return Object.keys(changes).length ? [newEvent('ServerUpdated', changes, ctx)] : [];
      });
      if (appended.length && endpointChanged) {
        // Attempts and client registrations made against the old endpoint must not be used.
        const p = await projected(serverName);
        if (p) {
          const by = serverStream(p.serverId);
          const ended = await supersedePending(cmd.engine, p, by, ctx);
          const discarded = await discardRegistrations(cmd.engine, p, ctx);
          logger.info({ serverName, ended, discarded }, 'server endpoint changed');
        }
      }
      return viewOf(cmd.actor, serverName);

      function changedFields(state: ServerState, stream: string, p: ServerPatch): RegistryEventData<'ServerUpdated'> {
        const out: RegistryEventData<'ServerUpdated'> = {};
        if (p.title !== undefined && p.title !== state.title) out.title = p.title;
        if (p.url !== undefined && p.url !== state.url) out.url = p.url;
        if (p.description === null ? state.description !== undefined : p.description !== undefined && p.description !== state.description) {
          out.description = p.description ?? null;
        }
        if (p.headers === null || (p.headers !== undefined && Object.keys(p.headers).length === 0)) {
          if (state.headers) out.headers = null;
        } else if (p.headers !== undefined && canonical(p.headers) !== canonical(state.headers ? openHeaders(sealer, stream, state.headers) : undefined)) {
          out.headers = sealHeaders(sealer, stream, p.headers);
        }
        if (p.oauth === null) {
          if (state.oauth) out.oauth = null;
        } else if (p.oauth !== undefined && canonical(p.oauth) !== canonical(state.oauth ? openOAuth(sealer, stream, state.oauth) : undefined)) {
          out.oauth = sealOAuth(sealer, stream, p.oauth);
        }
        return out;
      }
    },

    async remove(cmd, serverName) {
      refuseConfigured(serverName);
      const { state } = await load(cmd.actor, serverName, 'delete');
      const ctx = ctxOf(cmd);
      // Grants first, while the server still resolves (revocation may need its headers/secret).
      const before = await projected(serverName);
      const revokedGrants = before ? await revokeGrants(cmd.engine, before, cmd.correlationId, 'server_removed') : 0;
      await command(cmd, serverName, 'delete', () => [newEvent('ServerRemoved', { serverName, revokedGrants }, ctx)]);
      if (before) {
        const by = serverStream(state.serverId);
        await supersedePending(cmd.engine, before, by, ctx);
        await discardRegistrations(cmd.engine, before, ctx);
      }
      return { serverName, revokedGrants };
    },

    async share(cmd, serverName, userId, level) {
      refuseConfigured(serverName);
      const ctx = ctxOf(cmd);
      await command(cmd, serverName, 'share', ({ state }) => {
        if (userId === state.ownerId) throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'The owner already has full access');
        return state.shares[userId] === level ? [] : [newEvent('ServerShared', { userId, level }, ctx)];
      });
      return viewOf(cmd.actor, serverName);
    },

    async unshare(cmd, serverName, userId) {
      refuseConfigured(serverName);
      const ctx = ctxOf(cmd);
      const { appended } = await command(cmd, serverName, 'share', ({ state }) =>
        Object.hasOwn(state.shares, userId) ? [newEvent('ServerUnshared', { userId }, ctx)] : []);
      // Someone who may no longer see a server must not keep a grant for it.
      if (appended.length) await cmd.engine.disconnect({ userId, serverName, correlationId: cmd.correlationId, reason: 'server_unshared' });
      return viewOf(cmd.actor, serverName);
    },

    async authValues(actor, serverName) {
      if (!isConfigured(serverName)) await load(actor, serverName, 'view');
      const grant = foldGrant(await readDomainEvents(store, grantStream(actor.userId, serverName)));
      const tokens = grant.status === 'active';
      return { serverName, authValueFlags: {}, oauth: { tokens, refreshToken: tokens && grant.hasRefreshToken } };
    },

    async stop() {
      await own?.stop();
    },
  };
}

/** Key-order-independent JSON, to tell whether a map really changed. */
function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}
