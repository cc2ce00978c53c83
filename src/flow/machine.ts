import { assign, setup } from 'xstate';
import type { EventMetadata } from './metadata.js';
import type { ClientRef, FlowEventData, FlowEventType } from './events.js';

/**
 * The OAuth authorization attempt as a pure XState v5 machine. It is the `evolve` function
 * of the flow stream: its input events ARE the stored events, so a flow's state is the fold
 * of its events through this machine and nothing else.
 *
 * Pure by construction: no `after` timers (expiry is an explicit `FlowExpired` event whose
 * guard compares times carried by events), no clock, no randomness, no side effects. Effects
 * (HTTP to the authorization server) run in the command handler after an append succeeds.
 *
 * Replay compatibility: states and event types are never renamed; a change in behaviour
 * bumps {@link MACHINE_VERSION}, and guards that must keep old histories legal branch on
 * `metadata.machineVersion` of the event being folded.
 */
export const MACHINE_VERSION = 2;

/**
 * How long after its code exchange started a flow may still not be expired (machine v2): more
 * than any exchange can take (the token request's deadline is 10 s), so an expiry never lands
 * between a live claimant's exchange and its outcome, which would tell the claimant's caller
 * "connected" and everyone else "expired". Only a claimant that died is outlasted.
 */
export const EXCHANGE_GRACE_MS = 60_000;

/** An event as folded by the machine: the stored type, the decoded payload, its metadata. */
export type FlowMachineEvent = {
  [T in FlowEventType]: { type: T; data: FlowEventData<T>; metadata: EventMetadata };
}[FlowEventType];

export interface FlowContext {
  flowId: string | null;
  userId: string | null;
  serverName: string | null;
  serverUrl: string | null;
  issuer: string | null;
  redirectUri: string | null;
  /** Epoch ms; compared with the `at` of later events, never with a clock. */
  expiresAt: number;
  initiatedAt: string | null;
  stateHash: string | null;
  bindingHashes: string[];
  client: ClientRef | null;
  reusedClient: { registrationKey: string; registrationRevision: string } | null;
  exchangeId: string | null;
  /** Epoch ms of `CodeExchangeStarted` (its `at`). */
  exchangeStartedAt: number | null;
  /** Stable error code of a failed flow (`access_denied`, `client_rejected`, ...). */
  error: string | null;
  oauthError: string | null;
  endedAt: string | null;
  supersededBy: string | null;
}

export const initialFlowContext: FlowContext = {
  flowId: null,
  userId: null,
  serverName: null,
  serverUrl: null,
  issuer: null,
  redirectUri: null,
  expiresAt: 0,
  initiatedAt: null,
  stateHash: null,
  bindingHashes: [],
  client: null,
  reusedClient: null,
  exchangeId: null,
  exchangeStartedAt: null,
  error: null,
  oauthError: null,
  endedAt: null,
  supersededBy: null,
};

const atMs = (e: { metadata: EventMetadata }): number => Date.parse(e.metadata.at);

export const flowMachine = setup({
  types: {
    context: {} as FlowContext,
    events: {} as FlowMachineEvent,
  },
  guards: {
    /** Expiry is legal only once the event's own time has reached the flow's expiry. */
    isPastExpiry: ({ context, event }) => atMs(event) >= context.expiresAt,
    /**
     * Mid-exchange, also {@link EXCHANGE_GRACE_MS} past the exchange's start; an expiry written
     * by machine v1 keeps v1's rule, so old histories fold as they did.
     */
    isPastExchangeExpiry: ({ context, event }) =>
      atMs(event) >= context.expiresAt &&
      (event.metadata.machineVersion < 2 || context.exchangeStartedAt === null || atMs(event) >= context.exchangeStartedAt + EXCHANGE_GRACE_MS),
    isNewBinding: ({ context, event }) =>
      event.type === 'BrowserBound' && !context.bindingHashes.includes(event.data.bindingHash),
    isCurrentExchange: ({ context, event }) =>
      'exchangeId' in event.data && event.data.exchangeId === context.exchangeId,
  },
}).createMachine({
  id: 'oauthFlow',
  context: initialFlowContext,
  initial: 'new',
  states: {
    new: {
      on: {
        FlowInitiated: {
          target: 'pending',
          actions: assign(({ event }) => ({
            flowId: event.data.flowId,
            userId: event.data.userId,
            serverName: event.data.serverName,
            serverUrl: event.data.serverUrl,
            issuer: event.data.discovery.issuer,
            redirectUri: event.data.redirectUri,
            expiresAt: Date.parse(event.data.expiresAt),
            initiatedAt: event.metadata.at,
            stateHash: event.data.stateHash,
            bindingHashes: [event.data.bindingHash],
            client: event.data.client,
          })),
        },
      },
    },
    pending: {
      on: {
        ClientReused: {
          guard: ({ context }) => context.reusedClient === null,
          actions: assign(({ event }) => ({
            reusedClient: {
              registrationKey: event.data.registrationKey,
              registrationRevision: event.data.registrationRevision,
            },
          })),
        },
        BrowserBound: {
          guard: 'isNewBinding',
          actions: assign(({ context, event }) => ({ bindingHashes: [...context.bindingHashes, event.data.bindingHash] })),
        },
        CallbackErrored: {
          target: 'failed',
          actions: assign(({ event }) => ({ error: event.data.error, oauthError: event.data.error, endedAt: event.metadata.at })),
        },
        CodeExchangeStarted: {
          target: 'exchanging',
          actions: assign(({ event }) => ({ exchangeId: event.data.exchangeId, exchangeStartedAt: atMs(event) })),
        },
        FlowFailed: {
          target: 'failed',
          actions: assign(({ event }) => ({ error: event.data.reason, oauthError: event.data.oauthError ?? null, endedAt: event.metadata.at })),
        },
        FlowCancelled: { target: 'cancelled', actions: assign(({ event }) => ({ error: 'flow_cancelled', endedAt: event.metadata.at })) },
        FlowExpired: {
          guard: 'isPastExpiry',
          target: 'expired',
          actions: assign(({ event }) => ({ error: 'flow_expired', endedAt: event.metadata.at })),
        },
        FlowSuperseded: {
          target: 'superseded',
          actions: assign(({ event }) => ({ error: 'flow_superseded', supersededBy: event.data.by, endedAt: event.metadata.at })),
        },
      },
    },
    exchanging: {
      on: {
        FlowCompleted: { guard: 'isCurrentExchange', target: 'completed', actions: assign(({ event }) => ({ endedAt: event.metadata.at })) },
        ClientRejected: {
          guard: 'isCurrentExchange',
          target: 'failed',
          actions: assign(({ event }) => ({ error: 'client_rejected', oauthError: event.data.oauthError, endedAt: event.metadata.at })),
        },
        FlowFailed: {
          guard: 'isCurrentExchange',
          target: 'failed',
          actions: assign(({ event }) => ({ error: event.data.reason, oauthError: event.data.oauthError ?? null, endedAt: event.metadata.at })),
        },
        // A claimant that crashed mid-exchange must not pin the flow forever.
        FlowExpired: {
          guard: 'isPastExchangeExpiry',
          target: 'expired',
          actions: assign(({ event }) => ({ error: 'flow_expired', endedAt: event.metadata.at })),
        },
      },
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
    expired: { type: 'final' },
    superseded: { type: 'final' },
  },
});

export type FlowStateValue = 'new' | 'pending' | 'exchanging' | 'completed' | 'failed' | 'cancelled' | 'expired' | 'superseded';

export const FINAL_STATES: ReadonlySet<FlowStateValue> = new Set(['completed', 'failed', 'cancelled', 'expired', 'superseded']);
