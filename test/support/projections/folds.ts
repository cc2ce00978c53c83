import { EXCHANGE_GRACE_MS } from '../../../src/flow/machine.js';
import type { RecordedEvent } from '../../../src/store/types.js';
import type {
  ClientHealthState,
  ConnectionState,
  ExpiryState,
  FlowStatusState,
  FlowsOverviewState,
  RegistrationHealth,
} from '../../../src/projector/projectionStates.js';

/**
 * Plain TypeScript folds computing what each file in `projections/` computes, written
 * independently of them: the property tests compare the projector's states with these, and
 * the bench uses them as the baseline (the same events through plain code).
 */

type Data = Record<string, any>;
type Ev = RecordedEvent<string, Data, { at: string; machineVersion?: number }>;

const category = (id: string): string => id.slice(0, Math.max(0, id.indexOf('-')) || id.length);
const afterDash = (id: string): string => id.slice(id.indexOf('-') + 1);

const STATUS: Record<string, FlowStatusState['status']> = {
  pending: 'PENDING', exchanging: 'PENDING', completed: 'COMPLETED', failed: 'FAILED', cancelled: 'CANCELLED', superseded: 'CANCELLED', expired: 'EXPIRED',
};

/** The machine's expiry guard (v2: mid-exchange also a grace past the exchange's start). */
const expiryTakes = (f: { state: string; expiresAt: string | null; exchangeStartedAt: string | null }, e: Ev): boolean => {
  const at = Date.parse(e.metadata.at);
  if (!(at >= Date.parse(f.expiresAt!))) return false;
  if (f.state !== 'exchanging' || !f.exchangeStartedAt) return true;
  return e.metadata.machineVersion! < 2 || at >= Date.parse(f.exchangeStartedAt) + EXCHANGE_GRACE_MS;
};

const newFlow = (): FlowStatusState => ({
  flowId: null, userId: null, serverName: null, state: 'new', status: null, error: null, oauthError: null, initiatedAt: null, updatedAt: null,
  endedAt: null, expiresAt: null, clientId: null, registrationKey: null, reusedClient: false, exchangeId: null, exchangeStartedAt: null, supersededBy: null,
});

/** `flow-status`: partition per flow stream. */
export function foldFlowStatus(events: Iterable<Ev>, into = new Map<string, FlowStatusState>()): Map<string, FlowStatusState> {
  for (const e of events) {
    if (category(e.streamId) !== 'flow' || !(e.type in FLOW_TYPES)) continue;
    let s = into.get(e.streamId);
    if (!s) into.set(e.streamId, (s = newFlow()));
    const d = e.data;
    const at = e.metadata.at;
    const end = (state: FlowStatusState['state'], error: string | null, oauthError: string | null | undefined) => {
      s!.state = state; s!.status = STATUS[state]!; s!.error = error; s!.oauthError = oauthError ?? null; s!.endedAt = at; s!.updatedAt = at;
    };
    const open = s.state === 'pending' || s.state === 'exchanging';
    const current = d.exchangeId !== undefined && d.exchangeId === s.exchangeId;
    switch (e.type) {
      case 'FlowInitiated':
        if (s.state !== 'new') break;
        Object.assign(s, {
          flowId: d.flowId, userId: d.userId, serverName: d.serverName, state: 'pending', status: 'PENDING', initiatedAt: at, updatedAt: at,
          expiresAt: d.expiresAt, clientId: d.client?.clientId ?? null, registrationKey: d.client?.registrationKey ?? null,
        });
        break;
      case 'ClientReused':
        if (s.state === 'pending' && !s.reusedClient) Object.assign(s, { reusedClient: true, registrationKey: d.registrationKey, updatedAt: at });
        break;
      case 'CallbackErrored':
        if (s.state === 'pending') end('failed', d.error, d.error);
        break;
      case 'CodeExchangeStarted':
        if (s.state === 'pending') Object.assign(s, { state: 'exchanging', exchangeId: d.exchangeId, exchangeStartedAt: at, updatedAt: at });
        break;
      case 'FlowCompleted':
        if (s.state === 'exchanging' && current) end('completed', null, null);
        break;
      case 'ClientRejected':
        if (s.state === 'exchanging' && current) end('failed', 'client_rejected', d.oauthError);
        break;
      case 'FlowFailed':
        if (s.state === 'pending' || (s.state === 'exchanging' && current)) end('failed', d.reason, d.oauthError);
        break;
      case 'FlowCancelled':
        if (s.state === 'pending') end('cancelled', 'flow_cancelled', null);
        break;
      case 'FlowExpired':
        if (open && expiryTakes(s, e)) end('expired', 'flow_expired', null);
        break;
      case 'FlowSuperseded':
        if (s.state === 'pending') {
          end('superseded', 'flow_superseded', null);
          s.supersededBy = d.by;
        }
        break;
    }
  }
  return into;
}

const FLOW_TYPES: Record<string, true> = {
  FlowInitiated: true, ClientReused: true, CallbackErrored: true, CodeExchangeStarted: true, FlowCompleted: true, ClientRejected: true,
  FlowFailed: true, FlowCancelled: true, FlowExpired: true, FlowSuperseded: true,
};

/** `connections`: partition per user key of connection and grant streams. */
export function foldConnections(events: Iterable<Ev>, into = new Map<string, ConnectionState>()): Map<string, ConnectionState> {
  for (const e of events) {
    const c = category(e.streamId);
    if (c !== 'connection' && c !== 'grant') continue;
    if (e.type !== 'ConnectionAttemptStarted' && e.type !== 'TokensIssued' && e.type !== 'GrantRevoked') continue;
    const key = afterDash(e.streamId);
    let s = into.get(key);
    if (!s) {
      into.set(key, (s = {
        userId: null, serverName: null, flowId: null, attemptStartedAt: null, expiresAt: null, supersedes: null, attempts: 0,
        grant: false, grantFlowId: null, grantIssuedAt: null, grantRevokedAt: null, updatedAt: null,
      }));
    }
    const d = e.data;
    const at = e.metadata.at;
    if (e.type === 'ConnectionAttemptStarted') {
      Object.assign(s, { userId: d.userId, serverName: d.serverName, flowId: d.flowId, attemptStartedAt: at, expiresAt: d.expiresAt, supersedes: d.supersedes ?? null, updatedAt: at });
      s.attempts++;
    } else if (e.type === 'TokensIssued') {
      Object.assign(s, { userId: d.userId, serverName: d.serverName, grant: true, grantFlowId: d.flowId, grantIssuedAt: at, updatedAt: at });
    } else Object.assign(s, { grant: false, grantRevokedAt: at, updatedAt: at });
  }
  return into;
}

export const emptyClientHealth = (): ClientHealthState => ({ registrations: {}, cleanups: [], staleCleanups: 0, discards: 0 });

/** `client-health`: one state. */
export function foldClientHealth(events: Iterable<Ev>, s = emptyClientHealth()): ClientHealthState {
  const decide = (r: RegistrationHealth) => {
    r.staleReason = r.status !== 'registered' ? null : r.rejectionsAfterReuse > 0 ? 'rejected_after_reuse' : r.consecutiveRejections >= 3 ? 'consecutive_rejections' : null;
    r.stale = r.staleReason !== null;
  };
  const live = (key: string | undefined, clientId: string) => {
    const r = key ? s.registrations[key] : undefined;
    return r && r.clientId !== null && r.clientId === clientId ? r : undefined;
  };
  for (const e of events) {
    const d = e.data;
    const at = e.metadata.at;
    switch (e.type) {
      case 'ClientRegistrationStarted': {
        const key = afterDash(e.streamId);
        const r = (s.registrations[key] ??= {
          registrationKey: key, serverName: null, issuer: null, status: 'none', claimId: null, clientId: null, registeredAt: null, updatedAt: null,
          reuses: 0, successes: 0, rejections: 0, rejectionsAfterReuse: 0, consecutiveRejections: 0, consecutiveFailures: 0,
          stale: false, staleReason: null, discards: 0, lastDiscard: null,
        });
        Object.assign(r, { serverName: d.serverName, issuer: d.issuer, status: 'registering', claimId: d.claimId, clientId: null, updatedAt: at });
        decide(r);
        break;
      }
      case 'ClientRegistered': {
        const r = s.registrations[afterDash(e.streamId)];
        if (!r || r.claimId !== d.claimId) break;
        Object.assign(r, {
          status: 'registered', clientId: d.clientId, issuer: d.issuer, registeredAt: at, updatedAt: at,
          reuses: 0, successes: 0, rejections: 0, rejectionsAfterReuse: 0, consecutiveRejections: 0, consecutiveFailures: 0,
        });
        decide(r);
        break;
      }
      case 'ClientRegistrationFailed': {
        const r = s.registrations[afterDash(e.streamId)];
        if (!r || r.claimId !== d.claimId) break;
        r.status = 'failed';
        r.consecutiveFailures++;
        r.updatedAt = at;
        decide(r);
        break;
      }
      case 'ClientRegistrationDiscarded': {
        const r = live(afterDash(e.streamId), d.clientId);
        if (!r) break;
        r.status = 'discarded';
        r.discards++;
        r.lastDiscard = { reason: d.reason, at, clientId: d.clientId };
        r.updatedAt = at;
        decide(r);
        s.discards++;
        if (d.reason === 'stale') {
          s.staleCleanups++;
          s.cleanups.push({ registrationKey: r.registrationKey, serverName: r.serverName, clientId: d.clientId, at });
          if (s.cleanups.length > 50) s.cleanups.shift();
        }
        break;
      }
      case 'ClientReused': {
        const r = live(d.registrationKey, d.clientId);
        if (r) {
          r.reuses++;
          r.updatedAt = at;
        }
        break;
      }
      case 'ClientRejected': {
        const r = live(d.registrationKey, d.clientId);
        if (!r) break;
        r.rejections++;
        r.consecutiveRejections++;
        if (d.reused) r.rejectionsAfterReuse++;
        r.updatedAt = at;
        decide(r);
        break;
      }
      case 'TokensIssued': {
        const r = live(d.registrationKey, d.clientId);
        if (!r) break;
        r.successes++;
        r.consecutiveRejections = 0;
        r.updatedAt = at;
        decide(r);
        break;
      }
    }
  }
  return s;
}

const BUCKETS = [5, 15, 30, 60, 120, 300, 600];

export const emptyOverview = (): FlowsOverviewState => ({
  totals: { initiated: 0, PENDING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, EXPIRED: 0 },
  byServer: {},
  errorsByServer: {},
  durations: { bucketsSeconds: [...BUCKETS], counts: new Array(BUCKETS.length + 1).fill(0), count: 0, sumSeconds: 0 },
  hours: {},
  lastHour: '',
  open: {},
});

/** `flows-overview`: one state. */
export function foldOverview(events: Iterable<Ev>, s = emptyOverview()): FlowsOverviewState {
  const server = (name: string) => (s.byServer[name] ??= { PENDING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, EXPIRED: 0 });
  const hour = (at: string) => {
    const key = at.slice(0, 13);
    let h = s.hours[key];
    if (!h) {
      h = s.hours[key] = { initiated: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };
      if (key > s.lastHour) {
        s.lastHour = key;
        const cutoff = new Date(Date.parse(`${key}:00:00.000Z`) - 168 * 3_600_000).toISOString().slice(0, 13);
        for (const k of Object.keys(s.hours)) if (k <= cutoff) delete s.hours[k];
      }
    }
    return h;
  };
  const end = (e: Ev, status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'EXPIRED', error: string | null) => {
    const f = s.open[e.streamId]!;
    delete s.open[e.streamId];
    const c = server(f.serverName);
    c.PENDING--;
    c[status]++;
    s.totals[status]++;
    s.totals.PENDING--;
    if (error !== null) {
      const errors = (s.errorsByServer[f.serverName] ??= {});
      errors[error] = (errors[error] ?? 0) + 1;
    }
    const at = e.metadata.at;
    hour(at)[status.toLowerCase() as 'completed']++;
    if (status === 'COMPLETED') {
      const seconds = (Date.parse(at) - Date.parse(f.initiatedAt)) / 1000;
      let i = BUCKETS.findIndex((b) => seconds <= b);
      if (i < 0) i = BUCKETS.length;
      s.durations.counts[i]!++;
      s.durations.count++;
      s.durations.sumSeconds += seconds;
    }
  };
  for (const e of events) {
    if (category(e.streamId) !== 'flow') continue;
    const d = e.data;
    const f = s.open[e.streamId];
    switch (e.type) {
      case 'FlowInitiated':
        if (f) break;
        s.open[e.streamId] = { serverName: d.serverName, state: 'pending', exchangeId: null, exchangeStartedAt: null, initiatedAt: e.metadata.at, expiresAt: d.expiresAt };
        server(d.serverName).PENDING++;
        s.totals.initiated++;
        s.totals.PENDING++;
        hour(e.metadata.at).initiated++;
        break;
      case 'CallbackErrored':
        if (f?.state === 'pending') end(e, 'FAILED', d.error);
        break;
      case 'CodeExchangeStarted':
        if (f?.state === 'pending') Object.assign(f, { state: 'exchanging', exchangeId: d.exchangeId, exchangeStartedAt: e.metadata.at });
        break;
      case 'FlowCompleted':
        if (f?.state === 'exchanging' && f.exchangeId === d.exchangeId) end(e, 'COMPLETED', null);
        break;
      case 'ClientRejected':
        if (f?.state === 'exchanging' && f.exchangeId === d.exchangeId) end(e, 'FAILED', 'client_rejected');
        break;
      case 'FlowFailed':
        if (f && (f.state === 'pending' || f.exchangeId === d.exchangeId)) end(e, 'FAILED', d.reason);
        break;
      case 'FlowCancelled':
      case 'FlowSuperseded':
        if (f?.state === 'pending') end(e, 'CANCELLED', null);
        break;
      case 'FlowExpired':
        if (f && expiryTakes(f, e)) end(e, 'EXPIRED', 'flow_expired');
        break;
    }
  }
  return s;
}

/** `expiry`: one state. */
export function foldExpiry(events: Iterable<Ev>, s: ExpiryState = { open: {}, closed: 0 }): ExpiryState {
  for (const e of events) {
    if (category(e.streamId) !== 'flow') continue;
    const d = e.data;
    const f = s.open[e.streamId];
    let close = false;
    switch (e.type) {
      case 'FlowInitiated':
        if (!f) s.open[e.streamId] = { flowId: d.flowId, expiresAt: d.expiresAt, state: 'pending', exchangeId: null, exchangeStartedAt: null };
        break;
      case 'CodeExchangeStarted':
        if (f?.state === 'pending') Object.assign(f, { state: 'exchanging', exchangeId: d.exchangeId, exchangeStartedAt: e.metadata.at });
        break;
      case 'CallbackErrored':
      case 'FlowCancelled':
      case 'FlowSuperseded':
        close = f?.state === 'pending';
        break;
      case 'FlowCompleted':
      case 'ClientRejected':
        close = f?.state === 'exchanging' && f.exchangeId === d.exchangeId;
        break;
      case 'FlowFailed':
        close = !!f && (f.state === 'pending' || f.exchangeId === d.exchangeId);
        break;
      case 'FlowExpired':
        close = !!f && expiryTakes(f, e);
        break;
    }
    if (close) {
      delete s.open[e.streamId];
      s.closed++;
    }
  }
  return s;
}

/** Every projection's state, fed one event at a time (the bench's baseline reads a subscription). */
export function foldAllIncrementally() {
  const states = {
    flowStatus: new Map<string, FlowStatusState>(),
    connections: new Map<string, ConnectionState>(),
    clientHealth: emptyClientHealth(),
    overview: emptyOverview(),
    expiry: { open: {}, closed: 0 } as ExpiryState,
  };
  return {
    states,
    apply(e: Ev): void {
      const one = [e];
      foldFlowStatus(one, states.flowStatus);
      foldConnections(one, states.connections);
      foldClientHealth(one, states.clientHealth);
      foldOverview(one, states.overview);
      foldExpiry(one, states.expiry);
    },
  };
}
