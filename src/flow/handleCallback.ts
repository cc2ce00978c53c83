import { discardClient } from '../clients/registry.js';
import { EngineError, ErrorCode } from '../errors.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import type { TokenSet } from '../oauth/types.js';
import { recordedClient } from './recordedClient.js';
import { checkCallbackIssuer } from '../oauth/issuer.js';
import { isOAuthErrorCode } from '../oauth/oauthErrorCode.js';
import type { DomainEvent } from './catalogue.js';
import { handleCommand, readDomainEvents } from './commandHandler.js';
import { pollFlow, readFlow } from './pollFlow.js';
import type { FlowDeps } from './deps.js';
import { foldFlow, isFinal, toFlowState, type FlowState } from './evolve.js';
import type { FlowEventData } from './events.js';
import { applyDecision, decideFlow, decideFlowState, type FlowCommand } from './decide.js';
import type { CommandContext } from './newEvent.js';
import { hashEquals, parseState, sha256 } from './secrets.js';
import { flowStream } from './streams.js';
import { disconnectGrant } from '../grants/disconnect.js';
import { foldGrant } from '../grants/fold.js';
import { newDataKeyId, tokensIssuedEvent } from '../grants/recordTokens.js';
import { revokeTokens } from '../grants/revokeTokens.js';
import type { AppendResult, Durability, EventData } from '../store/types.js';
import type { KnownFlow } from './recentFlows.js';

export interface CallbackInput {
  serverName: string;
  state?: string | undefined;
  code?: string | undefined;
  error?: string | undefined;
  errorDescription?: string | undefined;
  iss?: string | undefined;
  /** The browser-binding cookie's value, when the browser sent one. */
  bindingSecret?: string | undefined;
  correlationId: string;
}

export type CallbackOutcome =
  | { ok: true; flowId: string; userId: string; serverName: string; alreadyCompleted: boolean }
  | { ok: false; error: string; flowId?: string };

/** RFC 6749 §4.1.2.1 codes passed through to the error page; anything else is `callback_failed`. */
const AS_ERRORS = new Set([
  'access_denied', 'invalid_request', 'unauthorized_client', 'unsupported_response_type',
  'invalid_scope', 'server_error', 'temporarily_unavailable', 'login_required', 'consent_required',
  'interaction_required', 'account_selection_required', 'invalid_target',
]);
export const callbackErrorCode = (e: string): string => (AS_ERRORS.has(e) ? e : 'callback_failed');

const CLIENT_REJECTION = new Set(['invalid_client', 'unauthorized_client']);

/**
 * The exchange claim excludes concurrent callbacks, which needs it visible, not fsynced: the
 * tokens' durable commit right after it fsyncs it too (WAL order). A power cut between the two
 * can drop the claim with the tokens; the flow then reads pending again, and a replayed
 * callback's code is refused by the authorization server, which must deny a code used twice
 * (RFC 6749 §4.1.2): the flow fails closed and the user starts again, as after a durable
 * claim whose exchange never reported back.
 */
const CLAIM_DURABILITY: Durability = 'deferred';
const fail = (error: string, flowId?: string): CallbackOutcome => ({ ok: false, error, ...(flowId ? { flowId } : {}) });

function outcomeOf(flow: FlowState, flowId: string): CallbackOutcome {
  const c = flow.context;
  switch (flow.value) {
    case 'completed':
      return { ok: true, flowId, userId: c.userId!, serverName: c.serverName!, alreadyCompleted: true };
    case 'cancelled':
    case 'superseded':
      return fail(ErrorCode.FLOW_CANCELLED, flowId);
    case 'expired':
      return fail(ErrorCode.FLOW_EXPIRED, flowId);
    case 'failed':
      return fail(c.error === 'client_rejected' ? 'client_rejected' : callbackErrorCode(c.error ?? 'callback_failed'), flowId);
    default:
      return fail(ErrorCode.CALLBACK_FAILED, flowId);
  }
}

/**
 * The authorization server's redirect back. Order of checks: the state must name a flow we
 * issued (hash recorded at initiation), the browser must hold one of the flow's binding
 * secrets, and only then may anything be appended. A leaked `state` alone can neither
 * complete nor force-fail a flow. Exactly one code exchange happens per flow: it is claimed by
 * appending `CodeExchangeStarted` at the revision read; duplicate callbacks wait for and
 * report the claimant's outcome.
 */
export async function handleCallback(deps: FlowDeps, input: CallbackInput): Promise<CallbackOutcome> {
  if (!input.state) return fail(ErrorCode.MISSING_STATE);
  const parsed = parseState(input.state);
  if (!parsed) return fail(ErrorCode.INVALID_STATE);
  const checks: CallbackChecks = {
    flowId: parsed.flowId,
    stream: flowStream(parsed.flowId),
    stateHash: sha256(input.state),
    bindingHash: input.bindingSecret ? sha256(input.bindingSecret) : undefined,
  };
  const known = deps.recentFlows?.take(parsed.flowId);
  let keyId: string | undefined;
  if (known && isPlainCompletion(known, input, checks, deps.clock.now().getTime())) {
    // The common case, decided on what this process appended itself: the claim's expected
    // revision proves nothing was appended since; if something was, read and decide afresh.
    const c = known.state.context;
    const ctx: CommandContext = { now: deps.clock.now(), correlationId: input.correlationId, actor: c.userId! };
    const exchangeId = deps.random.uuid();
    const { events, snapshot } = decideFlowState({ type: 'StartExchange', exchangeId, codeHash: sha256(input.code!) }, known.state, ctx);
    keyId = newDataKeyId(deps, c.userId!, c.serverName!);
    const keyReady = deps.grantSealer.prepareKey(keyId).catch(() => undefined);
    let result: AppendResult | null = null;
    try {
      if (events.length) result = await deps.store.appendToStream(checks.stream, events, { expectedRevision: known.state.revision!, durability: CLAIM_DURABILITY });
    } catch (err) {
      if (!isWrongExpectedVersion(err)) {
        await keyReady;
        await discardKey(deps, keyId);
        throw err;
      }
    }
    await keyReady;
    if (result) {
      const claimed = toFlowState(snapshot, result.nextExpectedRevision);
      return exchangeClaimed(deps, { flowId: parsed.flowId, stream: checks.stream, initiated: known.initiated, code: input.code!, exchangeId, claimed, reused: c.reusedClient !== null, keyId }, ctx);
    }
  }
  return decideFromStore(deps, input, checks, keyId);
}

/** What the callback derived from its input before looking at the flow. */
interface CallbackChecks {
  flowId: string;
  stream: string;
  stateHash: string;
  bindingHash: string | undefined;
}

/**
 * True when the callback would claim the exchange on `known`'s state: pending, our state,
 * a binding the flow holds, in time, a code and no error, issuer as expected. Every other
 * answer is left to {@link decideFromStore}, which reads the stream first.
 */
function isPlainCompletion(known: KnownFlow, input: CallbackInput, checks: CallbackChecks, nowMs: number): boolean {
  const c = known.state.context;
  if (known.state.value !== 'pending' || known.state.revision === null) return false;
  if (!c.stateHash || !hashEquals(c.stateHash, checks.stateHash) || c.serverName !== input.serverName) return false;
  if (checks.bindingHash === undefined || !c.bindingHashes.some((h) => hashEquals(h, checks.bindingHash!))) return false;
  if (nowMs >= c.expiresAt || input.error || !input.code) return false;
  try {
    checkCallbackIssuer(known.initiated.discovery.issuer, known.initiated.discovery.issParameterSupported, input.iss);
  } catch {
    return false;
  }
  return true;
}

/**
 * The callback decided on the flow as read from the store; `keyId`: a data key already prepared.
 * A key no exchange was handed is discarded on every way out, a throw included (a read or an
 * append failing after the fast path's conflict must not leave a live key nobody will use).
 */
async function decideFromStore(deps: FlowDeps, input: CallbackInput, checks: CallbackChecks, preparedKeyId: string | undefined): Promise<CallbackOutcome> {
  const key: UnusedKey = { keyId: preparedKeyId, ready: undefined };
  try {
    return await decideOnRead(deps, input, checks, key);
  } catch (err) {
    await key.ready;
    if (key.keyId !== undefined) await discardKey(deps, key.keyId);
    throw err;
  }
}

/** The data key a callback prepared and has not handed to an exchange (yet); `ready`: its creation. */
interface UnusedKey {
  keyId: string | undefined;
  ready: Promise<unknown> | undefined;
}

async function decideOnRead(deps: FlowDeps, input: CallbackInput, checks: CallbackChecks, key: UnusedKey): Promise<CallbackOutcome> {
  const { flowId, stream } = checks;
  const preparedKeyId = key.keyId;
  const unused = async <T>(outcome: T): Promise<T> => {
    const keyId = key.keyId;
    key.keyId = undefined;
    if (keyId !== undefined) await discardKey(deps, keyId);
    return outcome;
  };
  const read = await readDomainEvents(deps.store, stream);
  const flow = foldFlow(read);
  const c = flow.context;
  if (flow.value === 'new' || !c.stateHash || !hashEquals(c.stateHash, checks.stateHash) || c.serverName !== input.serverName) {
    return unused(fail(ErrorCode.INVALID_STATE));
  }
  if (checks.bindingHash === undefined || !c.bindingHashes.some((h) => hashEquals(h, checks.bindingHash!))) {
    return unused(fail(ErrorCode.CSRF_VALIDATION_FAILED, flowId));
  }
  const ctx: CommandContext = { now: deps.clock.now(), correlationId: input.correlationId, actor: c.userId! };
  if (isFinal(flow.value)) return unused(outcomeOf(flow, flowId));
  if (flow.value === 'exchanging') return unused(undefined).then(() => awaitOutcome(deps, flowId));
  if (ctx.now.getTime() >= c.expiresAt) return unused(fail(ErrorCode.FLOW_EXPIRED, flowId));

  if (input.error) {
    const error = isOAuthErrorCode(input.error) ? input.error : 'invalid_request';
    const description = input.errorDescription?.replace(/[^\x20-\x7E]/g, '').slice(0, 500);
    const r = await handleCommand(deps.store, stream, foldFlow, (f) =>
      decideFlow({ type: 'RecordCallbackError', error, ...(description ? { errorDescription: description } : {}) }, f, ctx),
    );
    if (!r.appended.length) return unused(outcomeOf(r.state, flowId));
    deps.observer.flowFailed?.(input.serverName, callbackErrorCode(error));
    return unused(fail(callbackErrorCode(error), flowId));
  }
  if (!input.code) return unused(fail(ErrorCode.MISSING_CODE, flowId));

  const initiated = initiatedData(read);
  try {
    checkCallbackIssuer(initiated.discovery.issuer, initiated.discovery.issParameterSupported, input.iss);
  } catch {
    const r = await handleCommand(deps.store, stream, foldFlow, (f) => decideFlow({ type: 'FailFlow', data: { reason: ErrorCode.ISSUER_MISMATCH } }, f, ctx));
    if (r.appended.length) deps.observer.flowFailed?.(input.serverName, ErrorCode.ISSUER_MISMATCH);
    return unused(fail(ErrorCode.ISSUER_MISMATCH, flowId));
  }

  const exchangeId = deps.random.uuid();
  const codeHash = sha256(input.code);
  // The grant's data key is created while the claim commits (on the embedded store, in the
  // same transaction): the completion then waits for one commit, not two. A key nobody seals
  // under is discarded; if creating it failed, sealing creates it later.
  const keyId = preparedKeyId ?? newDataKeyId(deps, c.userId!, c.serverName!);
  key.keyId = keyId;
  if (preparedKeyId === undefined) key.ready = deps.grantSealer.prepareKey(keyId).catch(() => undefined);
  const claim = await handleCommand(deps.store, stream, foldFlow, (f) => decideFlow({ type: 'StartExchange', exchangeId, codeHash }, f, ctx), {
    firstRead: read,
    durability: CLAIM_DURABILITY,
  });
  await key.ready;
  if (!claim.appended.length) {
    await unused(undefined);
    return claim.state.value === 'exchanging' ? awaitOutcome(deps, flowId) : outcomeOf(claim.state, flowId);
  }
  const claimed = applyDecision(claim.state, claim.appended, claim.result!.nextExpectedRevision);
  // From here the exchange owns the key (it discards it if it seals nothing).
  key.keyId = undefined;
  return exchangeClaimed(deps, { flowId, stream, initiated, code: input.code, exchangeId, claimed, reused: c.reusedClient !== null, keyId }, ctx);
}

/**
 * Runs the exchange our claim won. Until tokens are in hand nothing is sealed under the key, so
 * any way out before that (a refused code, a throw while recording it) discards the key; once
 * the tokens are being written it is never touched (a failed write may still have committed).
 */
async function exchangeClaimed(deps: FlowDeps, job: ExchangeJob, ctx: CommandContext): Promise<CallbackOutcome> {
  let obtained: Obtained | CallbackOutcome;
  try {
    obtained = await obtainTokens(deps, job, ctx);
  } catch (err) {
    await discardKey(deps, job.keyId);
    throw err;
  }
  if (!('tokens' in obtained)) {
    await discardKey(deps, job.keyId);
    return obtained;
  }
  return completeWithTokens(deps, job, obtained, ctx);
}

/** Discards a prepared data key that sealed nothing (best effort: it guards no secret). */
async function discardKey(deps: FlowDeps, keyId: string): Promise<void> {
  await deps.grantSealer.discard(keyId).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not discard an unused data key'));
}

function initiatedData(events: DomainEvent[]): FlowEventData<'FlowInitiated'> {
  const first = events[0];
  if (!first || first.type !== 'FlowInitiated') throw new EngineError(ErrorCode.INVALID_STATE, 'Flow has no initiation');
  return first.data as FlowEventData<'FlowInitiated'>;
}

interface ExchangeJob {
  flowId: string;
  stream: string;
  initiated: FlowEventData<'FlowInitiated'>;
  code: string;
  exchangeId: string;
  /** The flow right after our `CodeExchangeStarted`: outcomes are decided against it. */
  claimed: FlowState;
  reused: boolean;
  /** The data key prepared for this grant's tokens. */
  keyId: string;
}

/** Tokens the authorization server issued for the claimed code, with the client they were issued to. */
interface Obtained {
  tokens: TokenSet;
  clientId: string;
}

/** The code exchange; a refusal is recorded on the flow (and a rejected client discarded) and returned as the outcome. */
async function obtainTokens(deps: FlowDeps, job: ExchangeJob, ctx: CommandContext): Promise<Obtained | CallbackOutcome> {
  const { initiated, stream } = job;
  const server = await deps.resolveServer(initiated.serverName, initiated.userId);
  const { discovery, client } = recordedClient(deps.sealer, initiated);
  let tokens: TokenSet;
  try {
    tokens = await deps.driver.exchangeCode({
      discovery,
      client,
      code: job.code,
      codeVerifier: deps.sealer.open(initiated.codeVerifier, `${stream}:codeVerifier`),
      redirectUri: initiated.redirectUri,
      server: server ?? { url: initiated.serverUrl },
    });
  } catch (err) {
    const oauthError = err instanceof EngineError && typeof err.details?.oauthError === 'string' ? err.details.oauthError : undefined;
    const status = err instanceof EngineError && typeof err.details?.status === 'number' ? err.details.status : undefined;
    deps.logger.warn({ flowId: job.flowId, code: err instanceof EngineError ? err.code : 'error', oauthError }, 'code exchange failed');
    if (oauthError && CLIENT_REJECTION.has(oauthError)) {
      const recorded = await appendOutcome(deps, job, {
        type: 'RejectClient',
        data: {
          exchangeId: job.exchangeId,
          oauthError,
          clientId: client.clientId,
          ...(initiated.client.registrationKey ? { registrationKey: initiated.client.registrationKey } : {}),
          reused: job.reused,
          ...(status !== undefined ? { status } : {}),
        },
      }, ctx);
      // A client the AS no longer knows is dead for everyone: the next attempt registers fresh.
      if (initiated.client.registrationKey) {
        await discardClient(deps, initiated.client.registrationKey, client.clientId, 'client_rejected', ctx, job.flowId);
      }
      if (!recorded) return loggedOutcome(deps, job);
      deps.observer.flowFailed?.(initiated.serverName, 'client_rejected');
      return fail('client_rejected', job.flowId);
    }
    const oauthErrorOk = isOAuthErrorCode(oauthError) ? oauthError : undefined;
    if (!(await appendOutcome(deps, job, { type: 'FailFlow', data: { reason: ErrorCode.CALLBACK_FAILED, exchangeId: job.exchangeId, ...(oauthErrorOk ? { oauthError: oauthErrorOk } : {}) } }, ctx))) {
      return loggedOutcome(deps, job);
    }
    deps.observer.flowFailed?.(initiated.serverName, ErrorCode.CALLBACK_FAILED);
    return fail(ErrorCode.CALLBACK_FAILED, job.flowId);
  }
  return { tokens, clientId: client.clientId };
}

/** Seals the tokens under the prepared key and records them with the flow's completion. */
async function completeWithTokens(deps: FlowDeps, job: ExchangeJob, { tokens, clientId }: Obtained, ctx: CommandContext): Promise<CallbackOutcome> {
  const { initiated } = job;
  const issued = await tokensIssuedEvent(deps, {
    flowId: job.flowId,
    userId: initiated.userId,
    serverName: initiated.serverName,
    issuer: initiated.discovery.issuer,
    clientId,
    registrationKey: initiated.client.registrationKey,
  }, tokens, ctx, job.keyId);
  const { expiresAt, scope } = tokens;
  const completion = (grantRevision: bigint): FlowCommand => ({
    type: 'CompleteExchange',
    data: {
      exchangeId: job.exchangeId,
      grantRevision: grantRevision.toString(),
      ...(scope ? { scope } : {}),
      ...(expiresAt ? { tokenExpiresAt: new Date(expiresAt).toISOString() } : {}),
    },
  });
  if (!(await recordCompletion(deps, job, issued, completion, ctx))) {
    // Past the exchange grace something else ended the flow (the expiry worker, after this
    // process stalled). The tokens must not outlive it, or the user would be connected by a
    // flow every callback reports failed: report what the log says, as every other callback will.
    await abandonTokens(deps, job, issued, tokens, ctx);
    return loggedOutcome(deps, job);
  }
  deps.observer.flowCompleted?.(initiated.serverName);
  return { ok: true, flowId: job.flowId, userId: initiated.userId, serverName: initiated.serverName, alreadyCompleted: false };
}

/**
 * Appends `TokensIssued` and `FlowCompleted` in one write (one commit on the embedded store),
 * the grant event first: `FlowCompleted` names the grant revision it follows. The grant
 * stream's head is not read first: most completions are a user's first grant on that server,
 * so the write assumes no grant stream, and a conflict reports the actual head, with which the
 * write is tried once more (the expected revisions make a wrong guess harmless). When anything
 * else slipped in (a refresh on the grant stream, an expiry on the flow), the two are written
 * one after the other as the race allows; the grant event keeps its id, so one that a partial
 * write already committed is not written twice.
 */
async function recordCompletion(
  deps: FlowDeps,
  job: ExchangeJob,
  issued: { stream: string; event: EventData },
  completion: (grantRevision: bigint) => FlowCommand,
  ctx: CommandContext,
): Promise<boolean> {
  let grantHead: bigint | null = null;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const completed = decideFlow(completion(grantHead === null ? 0n : grantHead + 1n), job.claimed, ctx);
    if (!completed.length) throw new EngineError(ErrorCode.ILLEGAL_TRANSITION, 'The flow machine refused CompleteExchange after our exchange claim');
    try {
      await deps.store.appendToStreams([
        { streamId: issued.stream, events: issued.event, expectedRevision: grantHead ?? 'no_stream' },
        { streamId: job.stream, events: completed, expectedRevision: job.claimed.revision! },
      ]);
      return true;
    } catch (err) {
      if (!isWrongExpectedVersion(err)) throw err;
      // Only an expiry can land on a claimed flow (after the exchange grace): the tokens lost.
      if (err.streamName === job.stream && isFinal((await readFlow(deps, job.flowId)).value)) return false;
      if (attempt === 2 || err.streamName !== issued.stream || typeof err.actualVersion !== 'bigint') break;
      grantHead = err.actualVersion;
    }
  }
  // One by one from here: the grant part first, so not at all for a flow something else ended.
  if (isFinal((await readFlow(deps, job.flowId)).value)) return false;
  // On EventStoreDB the grant part may have committed before the flow part failed: appending
  // it again at the revision last tried is then refused, and 'any' is deduplicated by its id.
  let grantRevision: bigint;
  try {
    grantRevision = (await deps.store.appendToStream(issued.stream, issued.event, { expectedRevision: grantHead ?? 'no_stream' })).nextExpectedRevision;
  } catch (err) {
    if (!isWrongExpectedVersion(err)) throw err;
    grantRevision = (await deps.store.appendToStream(issued.stream, issued.event, { expectedRevision: 'any' })).nextExpectedRevision;
  }
  return appendOutcome(deps, job, completion(grantRevision), ctx);
}

/** What the log says of a flow whose claimant's outcome lost the race (to an expiry). */
async function loggedOutcome(deps: FlowDeps, job: ExchangeJob): Promise<CallbackOutcome> {
  return outcomeOf(await readFlow(deps, job.flowId), job.flowId);
}

/**
 * Tokens of a flow that ended without them: revoked at the authorization server, and their
 * data key discarded. Where a store without multi-stream transactions committed the grant
 * part before the flow part lost, and it is still the grant's latest tokens, the grant is
 * disconnected (revoked, key shredded) instead. Best effort: the callback's answer is what the
 * log says, whatever happens here.
 */
async function abandonTokens(deps: FlowDeps, job: ExchangeJob, issued: { stream: string; event: EventData }, tokens: TokenSet, ctx: CommandContext): Promise<void> {
  const { userId, serverName } = job.initiated;
  try {
    const grant = await readDomainEvents(deps.store, issued.stream);
    const latest = grant.findLast((e) => e.type === 'TokensIssued');
    if (latest?.id === issued.event.id) {
      const readGrant = async () => foldGrant(await readDomainEvents(deps.store, issued.stream));
      // This process's token cache sees the grant's new revision at its next check (1 s).
      await disconnectGrant(deps, readGrant, { userId, serverName, reason: 'flow_ended' }, ctx);
      return;
    }
    const { discovery, client } = recordedClient(deps.sealer, job.initiated);
    const server = (await deps.resolveServer(serverName, userId)) ?? { url: job.initiated.serverUrl };
    await revokeTokens(deps, { discovery, client, server }, tokens, serverName);
    await discardKey(deps, job.keyId);
  } catch (err) {
    deps.logger.warn({ flowId: job.flowId, err: String(err) }, 'could not abandon the tokens of a flow that ended without them');
  }
}

/** The outcome follows our own claim, so it is appended right after it; false when another event won. */
async function appendOutcome(deps: FlowDeps, job: ExchangeJob, command: FlowCommand, ctx: CommandContext): Promise<boolean> {
  const events = decideFlow(command, job.claimed, ctx);
  if (!events.length) throw new EngineError(ErrorCode.ILLEGAL_TRANSITION, `The flow machine refused ${command.type} after our exchange claim`);
  try {
    await deps.store.appendToStream(job.stream, events, { expectedRevision: job.claimed.revision! });
    return true;
  } catch (err) {
    // Only an expiry can slip in after a claim, once its grace has passed; the log says what won.
    if (!isWrongExpectedVersion(err)) throw err;
    deps.logger.warn({ flowId: job.flowId }, 'exchange outcome lost a race with another event');
    return false;
  }
}

/** A duplicate callback waits for the claimant's outcome instead of exchanging again. */
async function awaitOutcome(deps: FlowDeps, flowId: string, timeoutMs = 15_000): Promise<CallbackOutcome> {
  const flow = await pollFlow(deps, flowId, (f) => isFinal(f.value), timeoutMs);
  return isFinal(flow.value) ? outcomeOf(flow, flowId) : fail(ErrorCode.CALLBACK_FAILED, flowId);
}
