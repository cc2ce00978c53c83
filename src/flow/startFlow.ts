import { obtainClient } from '../clients/registry.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import { decodeOrThrow, type DomainEvent } from './catalogue.js';
import { handleCommand, readDomainEvents, readLastEvent } from './commandHandler.js';
import { pollFlow } from './pollFlow.js';
import type { ConnectionEventData } from './connectionEvents.js';
import { redirectUriFor, type FlowDeps } from './deps.js';
import { foldFlow, initialFlowSnapshot, isFinal, toFlowState, type FlowState } from './evolve.js';
import { applyDecision, decideFlow, decideFlowState, isLiveAt } from './decide.js';
import type { FlowEventData } from './events.js';
import { newEvent, type CommandContext } from './newEvent.js';
import { composeState, sha256 } from './secrets.js';
import { connectionStream, flowStream, newFlowId } from './streams.js';

export interface StartFlowInput {
  userId: string;
  serverName: string;
  correlationId: string;
  /** Parsed `WWW-Authenticate` challenge from the MCP server, when known. */
  challenge?: { resourceMetadataUrl?: string; scope?: string };
  /** Supersede a pending attempt instead of joining it (server configuration changed). */
  forceNew?: boolean;
  /**
   * The connection stream as the caller has just read it ({@link readConnection}): the first
   * decision is taken on it instead of a second read. Safe because the claim is appended at
   * its revision; any later attempt reads afresh.
   */
  connection?: ConnectionState;
  /** The attempt `connection` names, as {@link readAttempt} has just read it (same reasoning). */
  previous?: FlowState;
}

export interface StartedFlow {
  flowId: string;
  authorizationUrl: string;
  /** Secret for the browser-binding cookie; only its hash is recorded. */
  bindingSecret: string;
  /** True when this call joined an attempt already pending for this user and server. */
  joined: boolean;
  expiresAt: string;
}

/** The current attempt of a (user, server), as its connection stream says. */
export interface ConnectionState {
  current: (ConnectionEventData<'ConnectionAttemptStarted'> & { revision: bigint }) | null;
  revision: bigint | null;
}

export function foldConnection(events: DomainEvent[]): ConnectionState {
  let current: ConnectionState['current'] = null;
  for (const e of events) {
    if (e.type === 'ConnectionAttemptStarted') current = { ...(e.data as ConnectionEventData<'ConnectionAttemptStarted'>), revision: e.revision };
  }
  return { current, revision: events.length ? events[events.length - 1]!.revision : null };
}

const initialFlowState: FlowState = toFlowState(initialFlowSnapshot, null);

/**
 * The connection state of (user, server) from the last event of its stream: the stream only
 * grows (an event per attempt, for as long as the user has the server), and its last
 * `ConnectionAttemptStarted` is all the state there is. Were another type ever last, the whole
 * stream is folded.
 */
export async function readConnection(deps: Pick<FlowDeps, 'store'>, userId: string, serverName: string): Promise<ConnectionState> {
  const stream = connectionStream(userId, serverName);
  const raw = await readLastEvent(deps.store, stream);
  if (raw === null) return { current: null, revision: null };
  const last = decodeOrThrow(raw);
  if (last.type === 'ConnectionAttemptStarted') return foldConnection([last]);
  return foldConnection(await readDomainEvents(deps.store, stream));
}

/**
 * How long a start waits for a code exchange in flight on the attempt it would join: longer
 * than the token request's own deadline (10 s), so only a claimant that died outlasts it.
 */
const EXCHANGE_WAIT_MS = 12_000;


/**
 * Reads the flow an attempt points at. Its creator may not have written it yet (a short
 * wait). With `waitForExchange`, a flow whose code a callback is exchanging is waited for:
 * it cannot take another browser, and its outcome decides what a start does (a completion may
 * mean the user is connected; a failure is replaced; beside a claimant that died, a new
 * attempt is started).
 */
export async function readAttempt(deps: FlowDeps, flowId: string, waitForExchange: boolean): Promise<FlowState> {
  const flow = await pollFlow(deps, flowId, (f) => f.value !== 'new', 5_000);
  if (!waitForExchange || flow.value !== 'exchanging') return flow;
  return pollFlow(deps, flowId, (f) => f.value !== 'exchanging', EXCHANGE_WAIT_MS);
}

/**
 * Starts an authorization attempt for (user, server), or joins the one already pending.
 *
 * Concurrency: the attempt is claimed by appending `ConnectionAttemptStarted` at the
 * connection stream's revision. Every concurrent start on any replica either wins that append
 * or re-reads and joins the winner (same flow id, same authorization URL, a browser binding
 * of its own), so there is never a second verifier or client to clobber the first.
 */
export async function startFlow(deps: FlowDeps, input: StartFlowInput): Promise<StartedFlow> {
  const { userId, serverName } = input;
  const server = await deps.resolveServer(serverName, userId);
  if (!server) throw new EngineError(ErrorCode.UNKNOWN_SERVER, `Unknown MCP server ${quote(serverName)}`);
  const connStream = connectionStream(userId, serverName);
  const ctx = (): CommandContext => ({ now: deps.clock.now(), correlationId: input.correlationId, actor: userId });

  let prepared: Awaited<ReturnType<typeof prepare>> | undefined;
  for (let attempt = 1; attempt <= 8; attempt++) {
    const conn = attempt === 1 && input.connection ? input.connection : await readConnection(deps, userId, serverName);
    const nowMs = deps.clock.now().getTime();
    let previous: FlowState | null = null;
    if (conn.current) {
      previous = attempt === 1 && input.connection && input.previous ? input.previous : await readAttempt(deps, conn.current.flowId, !input.forceNew);
      if (!input.forceNew && isLiveAt(previous, nowMs)) {
        const joined = await join(deps, conn.current.flowId, ctx());
        if (joined) {
          return {
            flowId: conn.current.flowId,
            authorizationUrl: deps.sealer.open(conn.current.authorizationUrl, `${connStream}:authorizationUrl`),
            bindingSecret: joined,
            joined: true,
            expiresAt: conn.current.expiresAt,
          };
        }
        continue; // it ended meanwhile: decide again
      }
    }
    prepared ??= await prepare(deps, input, server, ctx());
    const supersedes = conn.current && previous && !isFinal(previous.value) ? conn.current.flowId : undefined;
    const claim = newEvent('ConnectionAttemptStarted', {
      flowId: prepared.flowId,
      userId,
      serverName,
      expiresAt: prepared.expiresAt,
      authorizationUrl: deps.sealer.seal(prepared.authorizationUrl, `${connStream}:authorizationUrl`),
      ...(supersedes ? { supersedes } : {}),
    }, ctx());
    let written;
    try {
      // One write: the embedded store commits both at once (joiners never see a claim without
      // its flow); on EventStoreDB the flow follows the claim, as two appends would.
      // Deferred durability: visible to every replica before the URL is handed out, fsynced by
      // the next durable write (at the latest the tokens of a callback). A start lost to a power cut fails
      // closed: its callback finds no flow (and its verifier is gone), the user starts again.
      written = await deps.store.appendToStreams(
        [
          { streamId: connStream, events: claim, expectedRevision: conn.revision ?? 'no_stream' },
          { streamId: flowStream(prepared.flowId), events: prepared.flowEvents, expectedRevision: 'no_stream' },
        ],
        { durability: 'deferred' },
      );
    } catch (err) {
      if (isWrongExpectedVersion(err) && err.streamName === connStream) continue; // another start won: join it
      throw err;
    }
    deps.observer.flowStarted?.(serverName);
    deps.recentFlows?.remember(prepared.flowId, {
      state: toFlowState(prepared.flowSnapshot, written[1]!.nextExpectedRevision),
      initiated: prepared.flowEvents[0]!.data as FlowEventData<'FlowInitiated'>,
    });
    if (supersedes) await endPrevious(deps, supersedes, prepared.flowId, ctx());
    return {
      flowId: prepared.flowId,
      authorizationUrl: prepared.authorizationUrl,
      bindingSecret: prepared.bindingSecret,
      joined: false,
      expiresAt: prepared.expiresAt,
    };
  }
  throw new EngineError(ErrorCode.CONCURRENCY_RETRIES_EXHAUSTED, `Could not start a flow for ${quote(serverName)}: too much contention`);
}

/** Adds a browser binding to a pending flow; resolves to the new secret, or null if it ended. */
export async function join(deps: FlowDeps, flowId: string, ctx: CommandContext): Promise<string | null> {
  const bindingSecret = deps.random.token(32);
  const bindingHash = sha256(bindingSecret);
  const r = await handleCommand(deps.store, flowStream(flowId), foldFlow, (flow) => decideFlow({ type: 'BindBrowser', bindingHash }, flow, ctx));
  if (!r.appended.length) return null;
  deps.recentFlows?.advance(flowId, applyDecision(r.state, r.appended, r.result!.nextExpectedRevision));
  return bindingSecret;
}

async function prepare(deps: FlowDeps, input: StartFlowInput, server: NonNullable<Awaited<ReturnType<FlowDeps['resolveServer']>>>, ctx: CommandContext) {
  const { userId, serverName } = input;
  const redirectUri = redirectUriFor(deps.publicUrl, serverName);
  const discovery = await deps.driver.discover({ serverName, server, ...(input.challenge ? { challenge: input.challenge } : {}) });
  const flowId = newFlowId(ctx.now, deps.random);
  const stream = flowStream(flowId);
  const state = composeState(flowId, deps.random.token(32));
  const bindingSecret = deps.random.token(32);
  const client = await obtainClient(deps, { serverName, server, discovery, redirectUri, scope: discovery.scope, sealFor: stream }, ctx);
  const auth = await deps.driver.startAuthorization({ discovery, client: client.identity, redirectUri, state, scope: discovery.scope });
  const expiresAt = new Date(ctx.now.getTime() + deps.flowTtlMs).toISOString();
  const { metadata: _raw, ...snapshot } = discovery;
  const initiated: FlowEventData<'FlowInitiated'> = {
      flowId,
      userId,
      serverName,
      serverUrl: server.url,
      redirectUri,
      discovery: dropUndefined(snapshot),
      ...(discovery.scope ? { scope: discovery.scope } : {}),
      client: client.ref,
      expiresAt,
      stateHash: sha256(state),
      bindingHash: sha256(bindingSecret),
      codeVerifier: deps.sealer.seal(auth.codeVerifier, `${stream}:codeVerifier`),
      authorizationUrl: deps.sealer.seal(auth.authorizationUrl, `${stream}:authorizationUrl`),
  };
  const reused = client.reused && client.ref.registrationKey
    ? { registrationKey: client.ref.registrationKey, registrationRevision: client.ref.registrationRevision ?? '0', clientId: client.ref.clientId }
    : undefined;
  const { events: flowEvents, snapshot: flowSnapshot } = decideFlowState({ type: 'InitiateFlow', data: initiated, ...(reused ? { reused } : {}) }, initialFlowState, ctx);
  if (!flowEvents.length) throw new EngineError(ErrorCode.INTERNAL, 'The flow machine refused a fresh initiation');
  return { flowId, bindingSecret, authorizationUrl: auth.authorizationUrl, expiresAt, flowEvents, flowSnapshot };
}

/** Ends the attempt a new one replaces: expired if its time is up, superseded otherwise. */
async function endPrevious(deps: FlowDeps, flowId: string, by: string, ctx: CommandContext): Promise<void> {
  await handleCommand(deps.store, flowStream(flowId), foldFlow, (flow) => decideFlow({ type: 'EndReplacedFlow', by }, flow, ctx)).catch((err) => deps.logger.warn({ err: String(err), flowId }, 'could not end the superseded attempt'));
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
