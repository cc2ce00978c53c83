import { EngineError, ErrorCode, quote } from '../errors.js';
import { handleCommand, readDomainEvents } from '../flow/commandHandler.js';
import type { FlowDeps } from '../flow/deps.js';
import type { ClientRef } from '../flow/events.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import { clientStream, registrationKey } from '../flow/streams.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import { clientRoute } from '../oauth/resolveClient.js';
import type { ClientIdentity, DiscoveryResult, McpServerConfig } from '../oauth/types.js';
import { foldRegistration, type RegistrationState } from './fold.js';

/**
 * How long a registration claim may stay without outcome before others take over: longer than
 * the one registration request it covers can take (the fetch guard's 10 s deadline).
 */
export const CLAIM_TTL_MS = 15_000;
/**
 * How long an attempt waits for another replica's registration to finish: longer than a
 * claim's TTL, so a claimant that died is taken over instead of failing every waiter.
 */
const WAIT_MS = 20_000;

export interface ObtainedClient {
  identity: ClientIdentity;
  /** Reference recorded in the flow; the secret is sealed for the given flow stream. */
  ref: ClientRef;
  /** A registration made earlier (by another attempt) is being reused. */
  reused: boolean;
}

const normIssuer = (s: string): string => s.replace(/\/+$/, '');

/**
 * Reuse only a registration that is live, for the same issuer and the same redirect_uri,
 * whose secret has not expired (RFC 7591 `client_secret_expires_at`, 0 = never).
 */
export function isReusable(s: RegistrationState, issuer: string, redirectUri: string, nowMs: number): boolean {
  const r = s.registered;
  if (s.status !== 'registered' || !r) return false;
  if (normIssuer(r.issuer) !== normIssuer(issuer)) return false;
  if (!r.redirectUris.includes(redirectUri)) return false;
  if (r.clientSecretExpiresAt && r.clientSecretExpiresAt * 1000 <= nowMs) return false;
  return true;
}

/**
 * The client identity an attempt uses with this authorization server. Pre-registered
 * clients come from configuration. Otherwise one registration stream per (server, issuer,
 * redirect_uri): reuse what is there, or claim it (append at the revision read) and make the
 * one registration request; losers of the claim wait for the winner's result.
 */
export async function obtainClient(
  deps: FlowDeps,
  input: { serverName: string; server: McpServerConfig; discovery: DiscoveryResult; redirectUri: string; scope: string | undefined; sealFor: string },
  ctx: CommandContext,
): Promise<ObtainedClient> {
  const { serverName, server, discovery, redirectUri, sealFor } = input;
  const resolve = () =>
    deps.driver.resolveClient({ discovery, redirectUri, clientName: deps.clientName, scope: input.scope, server });

  if (server.oauth?.client_id) {
    const identity = await resolve();
    return { identity, ref: toRef(deps, identity, sealFor), reused: false };
  }

  const regKey = registrationKey(serverName, discovery.issuer, redirectUri);
  const stream = clientStream(regKey);
  const deadline = deps.clock.now().getTime() + WAIT_MS;
  for (let round = 0; ; round++) {
    const now = deps.clock.now();
    const state = foldRegistration(await readDomainEvents(deps.store, stream));
    if (isReusable(state, discovery.issuer, redirectUri, now.getTime())) {
      const r = state.registered!;
      const identity: ClientIdentity = {
        clientId: r.clientId,
        tokenEndpointAuthMethod: r.tokenEndpointAuthMethod,
        kind: r.kind,
        redirectUris: r.redirectUris,
        ...(r.clientSecret ? { clientSecret: deps.sealer.open(r.clientSecret, `${stream}:clientSecret`) } : {}),
        ...(r.clientSecretExpiresAt !== undefined ? { clientSecretExpiresAt: r.clientSecretExpiresAt } : {}),
      };
      return { identity, ref: toRef(deps, identity, sealFor, regKey, r.revision), reused: true };
    }
    if (now.getTime() > deadline) {
      throw new EngineError(ErrorCode.REGISTRATION_FAILED, `Timed out waiting for the client registration of ${quote(serverName)}`);
    }
    if (state.status === 'registering' && now.getTime() < state.claimExpiresAt) {
      await pause(round);
      continue;
    }
    // What cannot work is refused before a claim is recorded (every start would record one).
    clientRoute(server, discovery);
    const claimId = deps.random.uuid();
    const claim = newEvent('ClientRegistrationStarted', {
      claimId,
      serverName,
      issuer: discovery.issuer,
      redirectUri,
      claimExpiresAt: new Date(now.getTime() + CLAIM_TTL_MS).toISOString(),
    }, ctx);
    let claimRevision: bigint;
    try {
      claimRevision = (await deps.store.appendToStream(stream, claim, { expectedRevision: state.revision ?? 'no_stream' })).nextExpectedRevision;
    } catch (err) {
      if (isWrongExpectedVersion(err)) continue; // someone else claimed: wait for their outcome
      throw err;
    }
    let identity: ClientIdentity;
    try {
      identity = await resolve();
    } catch (err) {
      const code = err instanceof EngineError ? err.code : ErrorCode.REGISTRATION_FAILED;
      const oauthError = err instanceof EngineError && typeof err.details?.oauthError === 'string' ? err.details.oauthError : undefined;
      await deps.store
        .appendToStream(stream, newEvent('ClientRegistrationFailed', { claimId, reason: code.slice(0, 64), ...(oauthError ? { oauthError } : {}) }, ctx), { expectedRevision: claimRevision })
        .catch(() => undefined); // the claim expires anyway; the original error is what matters
      throw err;
    }
    const registered = newEvent('ClientRegistered', {
      claimId,
      clientId: identity.clientId,
      kind: identity.kind,
      tokenEndpointAuthMethod: identity.tokenEndpointAuthMethod,
      redirectUris: identity.redirectUris,
      issuer: discovery.issuer,
      ...(identity.clientSecret ? { clientSecret: deps.sealer.seal(identity.clientSecret, `${stream}:clientSecret`) } : {}),
      ...(identity.clientSecretExpiresAt !== undefined ? { clientSecretExpiresAt: identity.clientSecretExpiresAt } : {}),
    }, ctx);
    try {
      const res = await deps.store.appendToStream(stream, registered, { expectedRevision: claimRevision });
      return { identity, ref: toRef(deps, identity, sealFor, regKey, res.nextExpectedRevision), reused: false };
    } catch (err) {
      // Our claim was taken over (it outlived its TTL): use what the stream says now.
      if (isWrongExpectedVersion(err)) continue;
      throw err;
    }
  }
}

function toRef(deps: FlowDeps, identity: ClientIdentity, sealFor: string, regKey?: string, revision?: bigint): ClientRef {
  return {
    clientId: identity.clientId,
    kind: identity.kind,
    tokenEndpointAuthMethod: identity.tokenEndpointAuthMethod,
    ...(regKey ? { registrationKey: regKey, registrationRevision: String(revision) } : {}),
    ...(identity.clientSecret ? { clientSecret: deps.sealer.seal(identity.clientSecret, `${sealFor}:clientSecret`) } : {}),
  };
}

const pause = (round: number) => new Promise((r) => setTimeout(r, Math.min(20 * 2 ** round, 250)));

/**
 * Marks a registration unusable so the next attempt registers afresh. Idempotent across
 * replicas: it appends only while the stream still holds that very client as live.
 */
export async function discardClient(
  deps: FlowDeps,
  regKey: string,
  clientId: string,
  reason: 'client_rejected' | 'stale' | 'server_changed',
  ctx: CommandContext,
  flowId?: string,
): Promise<boolean> {
  const r = await handleCommand(deps.store, clientStream(regKey), foldRegistration, (s) =>
    s.status === 'registered' && s.registered?.clientId === clientId
      ? [newEvent('ClientRegistrationDiscarded', { clientId, reason, ...(flowId ? { flowId } : {}) }, ctx)]
      : [],
  );
  return r.appended.length > 0;
}
