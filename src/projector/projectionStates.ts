/**
 * The shapes of the projection states TypeScript code reads (the files in `projections/` are
 * the authority; these mirror them for the readers: queries, workers, dashboard).
 */

/** `flow-status`, partition `flow-<flowId>`. */
export interface FlowStatusState {
  flowId: string | null;
  userId: string | null;
  serverName: string | null;
  state: 'new' | 'pending' | 'exchanging' | 'completed' | 'failed' | 'cancelled' | 'expired' | 'superseded';
  status: 'PENDING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'EXPIRED' | null;
  error: string | null;
  oauthError: string | null;
  initiatedAt: string | null;
  updatedAt: string | null;
  endedAt: string | null;
  expiresAt: string | null;
  clientId: string | null;
  registrationKey: string | null;
  reusedClient: boolean;
  exchangeId: string | null;
  /** When the current exchange started (an expiry mid-exchange waits for its grace). */
  exchangeStartedAt: string | null;
  supersededBy: string | null;
}

/** `connections`, partition = the user key of `connection-<key>` / `grant-<key>`. */
export interface ConnectionState {
  userId: string | null;
  serverName: string | null;
  flowId: string | null;
  attemptStartedAt: string | null;
  expiresAt: string | null;
  supersedes: string | null;
  attempts: number;
  grant: boolean;
  grantFlowId: string | null;
  grantIssuedAt: string | null;
  grantRevokedAt: string | null;
  updatedAt: string | null;
}

export interface RegistrationHealth {
  registrationKey: string;
  serverName: string | null;
  issuer: string | null;
  status: 'none' | 'registering' | 'registered' | 'failed' | 'discarded';
  claimId: string | null;
  clientId: string | null;
  registeredAt: string | null;
  updatedAt: string | null;
  reuses: number;
  successes: number;
  rejections: number;
  rejectionsAfterReuse: number;
  consecutiveRejections: number;
  consecutiveFailures: number;
  stale: boolean;
  staleReason: 'rejected_after_reuse' | 'consecutive_rejections' | null;
  discards: number;
  lastDiscard: { reason: string; at: string; clientId: string } | null;
}

/** `client-health`, one state. */
export interface ClientHealthState {
  registrations: Record<string, RegistrationHealth>;
  cleanups: Array<{ registrationKey: string; serverName: string | null; clientId: string; at: string }>;
  staleCleanups: number;
  discards: number;
}

export type StatusCounts = Record<'PENDING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'EXPIRED', number>;
export interface HourCounts {
  initiated: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
}

/** `flows-overview`, one state. */
export interface FlowsOverviewState {
  totals: StatusCounts & { initiated: number };
  byServer: Record<string, StatusCounts>;
  errorsByServer: Record<string, Record<string, number>>;
  durations: { bucketsSeconds: number[]; counts: number[]; count: number; sumSeconds: number };
  /** Keyed by `YYYY-MM-DDTHH` (UTC hour of the events' `at`). */
  hours: Record<string, HourCounts>;
  lastHour: string;
  open: Record<string, { serverName: string; state: string; exchangeId: string | null; exchangeStartedAt: string | null; initiatedAt: string; expiresAt: string }>;
}

/** `expiry`, one state: the open flows by stream id. */
export interface ExpiryState {
  open: Record<string, { flowId: string; expiresAt: string; state: 'pending' | 'exchanging'; exchangeId: string | null; exchangeStartedAt: string | null }>;
  closed: number;
}

export const PROJECTION = {
  flowStatus: 'flow-status',
  connections: 'connections',
  clientHealth: 'client-health',
  flowsOverview: 'flows-overview',
  expiry: 'expiry',
} as const;
