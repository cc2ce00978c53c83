import { newEvent, type CommandContext } from '../../../src/flow/newEvent.js';
import { clientStream, connectionStream, flowStream, grantStream, registrationKey } from '../../../src/flow/streams.js';
import type { EventStore } from '../../../src/store/types.js';

/**
 * Hand-made scenarios for worker, query and dashboard tests, every event built with
 * `newEvent` (validated against the catalogue, metadata stamped) and appended through the store.
 */

const SEALED = { v: 1, kid: 'k1', iv: 'aXY', ct: 'Y3Q', tag: 'dGFn' };
const hash = (c: string): string => c.repeat(43).slice(0, 43);
export const TTL_MS = 10 * 60_000;

export interface FlowPlan {
  flowId: string;
  userId: string;
  serverName: string;
  /** Start time (ms). */
  at: number;
  /** What happens after the start, with offsets in ms from `at`. */
  outcome:
    | { kind: 'pending' }
    /** The code exchange started `after` ms in and never ended (its claimant died). */
    | { kind: 'exchanging'; after: number }
    | { kind: 'completed'; after: number }
    | { kind: 'callbackError'; error: string; after: number }
    | { kind: 'failed'; reason: string; after: number }
    | { kind: 'rejected'; after: number; oauthError?: string }
    | { kind: 'cancelled'; after: number }
    | { kind: 'expired' };
  /** Registration to use (created on first use by `seedRegistration`). */
  registration?: { key: string; clientId: string; reused: boolean };
}

export const ctx = (ms: number, actor: string): CommandContext => ({ now: new Date(ms), correlationId: `corr-${ms}`, actor });

/** A registration for `serverName`: started + registered. */
export async function seedRegistration(store: EventStore, serverName: string, clientId: string, at: number) {
  const key = registrationKey(serverName, `https://as-${serverName}.example`, `http://localhost:3080/api/mcp/${serverName}/oauth/callback`);
  const claimId = `claim-${clientId}`;
  await store.appendToStream(clientStream(key), [
    newEvent('ClientRegistrationStarted', {
      claimId,
      serverName,
      issuer: `https://as-${serverName}.example`,
      redirectUri: `http://localhost:3080/api/mcp/${serverName}/oauth/callback`,
      claimExpiresAt: new Date(at + 30_000).toISOString(),
    }, ctx(at, 'system')),
    newEvent('ClientRegistered', {
      claimId,
      clientId,
      kind: 'dcr',
      tokenEndpointAuthMethod: 'none',
      redirectUris: [`http://localhost:3080/api/mcp/${serverName}/oauth/callback`],
      issuer: `https://as-${serverName}.example`,
    }, ctx(at, 'system')),
  ]);
  return key;
}

/** Appends one flow's life in the order the engine writes it. */
export async function seedFlow(store: EventStore, p: FlowPlan): Promise<void> {
  const { flowId, userId, serverName, at } = p;
  const expiresAt = new Date(at + TTL_MS).toISOString();
  const stream = flowStream(flowId);
  const client = p.registration
    ? { clientId: p.registration.clientId, kind: 'dcr' as const, tokenEndpointAuthMethod: 'none', registrationKey: p.registration.key, registrationRevision: '1' }
    : { clientId: `pre-${serverName}`, kind: 'preregistered' as const, tokenEndpointAuthMethod: 'none' };
  await store.appendToStream(connectionStream(userId, serverName), newEvent('ConnectionAttemptStarted', { flowId, userId, serverName, expiresAt, authorizationUrl: SEALED }, ctx(at, userId)));
  const start = [newEvent('FlowInitiated', {
    flowId,
    userId,
    serverName,
    serverUrl: `https://${serverName}.example/mcp`,
    redirectUri: `http://localhost:3080/api/mcp/${serverName}/oauth/callback`,
    discovery: {
      issuer: `https://as-${serverName}.example`,
      authorizationEndpoint: `https://as-${serverName}.example/auth`,
      tokenEndpoint: `https://as-${serverName}.example/token`,
      issParameterSupported: true,
      clientIdMetadataDocumentSupported: false,
    },
    client,
    expiresAt,
    stateHash: hash('s'),
    bindingHash: hash('b'),
    codeVerifier: SEALED,
    authorizationUrl: SEALED,
  }, ctx(at, userId))];
  if (p.registration?.reused) {
    start.push(newEvent('ClientReused', { registrationKey: p.registration.key, registrationRevision: '1', clientId: p.registration.clientId }, ctx(at, userId)));
  }
  await store.appendToStream(stream, start);
  const o = p.outcome;
  const exchange = (after: number) => newEvent('CodeExchangeStarted', { exchangeId: `x-${flowId}`, codeHash: hash('c') }, ctx(at + after - 500, userId));
  switch (o.kind) {
    case 'pending':
      return;
    case 'exchanging':
      await store.appendToStream(stream, exchange(o.after));
      return;
    case 'completed':
      await store.appendToStream(stream, [exchange(o.after), newEvent('FlowCompleted', { exchangeId: `x-${flowId}`, grantRevision: '0' }, ctx(at + o.after, userId))]);
      await store.appendToStream(grantStream(userId, serverName), newEvent('TokensIssued', {
        flowId,
        userId,
        serverName,
        issuer: `https://as-${serverName}.example`,
        clientId: client.clientId,
        ...(p.registration ? { registrationKey: p.registration.key } : {}),
        tokens: SEALED,
        hasRefreshToken: true,
      }, ctx(at + o.after, userId)));
      return;
    case 'callbackError':
      await store.appendToStream(stream, newEvent('CallbackErrored', { error: o.error }, ctx(at + o.after, userId)));
      return;
    case 'failed':
      await store.appendToStream(stream, newEvent('FlowFailed', { reason: o.reason }, ctx(at + o.after, userId)));
      return;
    case 'rejected':
      await store.appendToStream(stream, [exchange(o.after), newEvent('ClientRejected', {
        exchangeId: `x-${flowId}`,
        oauthError: o.oauthError ?? 'invalid_client',
        clientId: client.clientId,
        ...(p.registration ? { registrationKey: p.registration.key } : {}),
        reused: p.registration?.reused ?? false,
        status: 401,
      }, ctx(at + o.after, userId))]);
      return;
    case 'cancelled':
      await store.appendToStream(stream, newEvent('FlowCancelled', {}, ctx(at + o.after, userId)));
      return;
    case 'expired':
      await store.appendToStream(stream, newEvent('FlowExpired', { expiresAt }, ctx(at + TTL_MS, 'system')));
      return;
  }
}
