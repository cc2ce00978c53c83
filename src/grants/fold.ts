import type { DomainEvent } from '../flow/catalogue.js';
import type { SealedValue } from '../flow/sealed.js';
import type { GrantEventData, McpConnectionEventData } from './events.js';

/**
 * - `none`: never issued; `active`: tokens usable (or refreshable);
 * - `unusable`: a final refresh failure (`invalid_grant`, client rejected) — no further AS call
 *   until a new `TokensIssued`; `revoked`: disconnected.
 */
export type GrantStatus = 'none' | 'active' | 'unusable' | 'revoked';

/** An open refresh claim. */
export interface RefreshClaim {
  refreshId: string;
  claimExpiresAt: number;
  revision: bigint;
}

/** A grant stream folded: what `getAccessToken` decides on. */
export interface GrantState {
  status: GrantStatus;
  /** Revision of the last event (the expected revision for the next claim). */
  revision: bigint | null;
  /** From the latest `TokensIssued`: where the discovery and client of this grant are recorded. */
  flowId: string | null;
  issuer: string | null;
  clientId: string | null;
  registrationKey: string | null;
  /** The current sealed token set (issued or refreshed). */
  tokens: SealedValue | null;
  tokenExpiresAt: number | null;
  scope: string | null;
  hasRefreshToken: boolean;
  refresh: RefreshClaim | null;
  /** The last refresh failure since the current tokens were recorded. */
  lastFailure: (GrantEventData<'RefreshFailed'> & { revision: bigint }) | null;
  /** Refreshes recorded for the current issuance (rotation history is in the events). */
  refreshes: number;
  /** Every data key that sealed tokens in this stream (what a disconnect must shred). */
  dataKeys: string[];
}

/** The state before any grant event. */
export const emptyGrant: GrantState = {
  status: 'none',
  revision: null,
  flowId: null,
  issuer: null,
  clientId: null,
  registrationKey: null,
  tokens: null,
  tokenExpiresAt: null,
  scope: null,
  hasRefreshToken: false,
  refresh: null,
  lastFailure: null,
  refreshes: 0,
  dataKeys: [],
};

const time = (iso: string | undefined): number | null => (iso ? Date.parse(iso) : null);
const withKey = (keys: string[], sealed: SealedValue): string[] => {
  const dk = (sealed as { dk?: unknown }).dk;
  return typeof dk === 'string' && !keys.includes(dk) ? [...keys, dk] : keys;
};

/** Pure fold of a grant stream; unknown types are ignored (later releases may add some). */
export function foldGrant(events: readonly DomainEvent[]): GrantState {
  let s = emptyGrant;
  for (const e of events) {
    s = evolveGrant(s, e);
  }
  return s;
}

/**
 * One step of the fold. A refresh outcome counts only for the open claim it names, so an
 * outcome that lost its slot (or a stale one) can never replace newer tokens.
 */
export function evolveGrant(s: GrantState, e: DomainEvent): GrantState {
  const next = ((): GrantState => {
    switch (e.type) {
      case 'TokensIssued': {
        const d = e.data as GrantEventData<'TokensIssued'>;
        return {
          ...s,
          status: 'active',
          flowId: d.flowId,
          issuer: d.issuer,
          clientId: d.clientId,
          registrationKey: d.registrationKey ?? null,
          tokens: d.tokens,
          tokenExpiresAt: time(d.tokenExpiresAt),
          scope: d.scope ?? null,
          hasRefreshToken: d.hasRefreshToken,
          refresh: null,
          lastFailure: null,
          refreshes: 0,
          dataKeys: withKey(s.dataKeys, d.tokens),
        };
      }
      case 'RefreshStarted': {
        const d = e.data as GrantEventData<'RefreshStarted'>;
        return { ...s, refresh: { refreshId: d.refreshId, claimExpiresAt: Date.parse(d.claimExpiresAt), revision: e.revision } };
      }
      case 'TokensRefreshed': {
        const d = e.data as GrantEventData<'TokensRefreshed'>;
        if (s.status !== 'active' || s.refresh?.refreshId !== d.refreshId) return s;
        return {
          ...s,
          tokens: d.tokens,
          tokenExpiresAt: time(d.tokenExpiresAt),
          scope: d.scope ?? s.scope,
          hasRefreshToken: d.hasRefreshToken,
          refresh: null,
          lastFailure: null,
          refreshes: s.refreshes + 1,
          dataKeys: withKey(s.dataKeys, d.tokens),
        };
      }
      case 'RefreshFailed': {
        const d = e.data as GrantEventData<'RefreshFailed'>;
        if (s.refresh?.refreshId !== d.refreshId) return s;
        return {
          ...s,
          status: s.status === 'active' && !d.retryable ? 'unusable' : s.status,
          refresh: null,
          lastFailure: { ...d, revision: e.revision },
        };
      }
      case 'GrantRevoked':
        return { ...s, status: 'revoked', tokens: null, tokenExpiresAt: null, refresh: null, hasRefreshToken: false };
      default:
        return s;
    }
  })();
  return { ...next, revision: e.revision };
}

/** `mcpconn-<userKey>` folded: the last verification and the step-ups asked for. */
export interface McpConnectionState {
  revision: bigint | null;
  tools: McpConnectionEventData<'ToolsListed'> | null;
  failure: McpConnectionEventData<'McpConnectionFailed'> | null;
  /** When step-ups were asked for, per requested scope set (sorted, space-joined), epoch ms. */
  stepUps: Record<string, number[]>;
}

/** Pure fold of `mcpconn-<userKey>`; the latest verification outcome wins. */
export function foldMcpConnection(events: readonly DomainEvent[]): McpConnectionState {
  let s: McpConnectionState = { revision: null, tools: null, failure: null, stepUps: {} };
  for (const e of events) {
    if (e.type === 'ToolsListed') s = { ...s, tools: e.data as McpConnectionEventData<'ToolsListed'>, failure: null };
    else if (e.type === 'McpConnectionFailed') s = { ...s, failure: e.data as McpConnectionEventData<'McpConnectionFailed'> };
    else if (e.type === 'StepUpRequested') {
      const d = e.data as McpConnectionEventData<'StepUpRequested'>;
      s = { ...s, stepUps: { ...s.stepUps, [d.scope]: [...(s.stepUps[d.scope] ?? []), Date.parse(e.metadata.at)] } };
    }
    s = { ...s, revision: e.revision };
  }
  return s;
}
