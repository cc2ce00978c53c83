import { EXCHANGE_GRACE_MS, MACHINE_VERSION } from '../../../src/flow/machine.js';
import { connectionStream, flowStream, grantStream, clientStream, registrationKey } from '../../../src/flow/streams.js';
import type { EventData, EventStore } from '../../../src/store/types.js';

/**
 * Realistic random event logs for the projection tests and the bench: a small simulator of
 * users starting flows against a few MCP servers, binding browsers, exchanging codes,
 * failing, cancelling, expiring, clients being registered, reused, rejected and discarded.
 * It appends what the engine would (legal events, in the order the engine writes them), plus
 * a few "stray" events the machine ignores (late or duplicate writes), which the projections
 * must ignore too.
 *
 * Events are built as plain objects (not through `newEvent`, whose validation would dominate
 * the bench's generation time); a test decodes generated logs with the catalogue to keep the
 * shapes honest.
 */

export interface LogEntry {
  streamId: string;
  events: EventData[];
}

/** One simulator step: `op` picks the kind (0–99, weighted), `a` and `b` pick targets. */
export type Step = [op: number, a: number, b: number];

export interface GeneratorOptions {
  users?: number;
  servers?: number;
  startMs?: number;
  ttlMs?: number;
}

const H = (c: string, n: number): string => (c + n.toString(36)).padEnd(43, c).slice(0, 43);
const SEALED = { v: 1, kid: 'k1', iv: 'aXY', ct: 'Y3Q', tag: 'dGFn' };
const CALLBACK_ERRORS = ['access_denied', 'invalid_scope', 'server_error', 'temporarily_unavailable'];
const FAIL_REASONS = ['token_request_failed', 'upstream_timeout', 'issuer_mismatch', 'callback_failed'];
const REJECT_ERRORS = ['invalid_client', 'unauthorized_client'];

interface Flow {
  id: string;
  stream: string;
  user: string;
  server: string;
  state: 'pending' | 'exchanging' | 'completed' | 'failed' | 'cancelled' | 'expired' | 'superseded';
  exchangeId: string | null;
  exchangeStartedMs: number | null;
  expiresAtMs: number;
  regKey: string | null;
  clientId: string;
  reused: boolean;
}

interface Registration {
  key: string;
  server: string;
  status: 'none' | 'registering' | 'registered' | 'failed' | 'discarded';
  claimId: string | null;
  clientId: string | null;
  n: number;
}

/** A deterministic log builder; feed it steps, then read `entries`. */
export class LogSimulator {
  readonly entries: LogEntry[] = [];
  eventCount = 0;
  #now: number;
  readonly #ttl: number;
  readonly #users: number;
  readonly #servers: number;
  readonly #flows: Flow[] = [];
  /** Candidates for "what happens next": open flows, closed ones pruned lazily. */
  readonly #open: Flow[] = [];
  /** Oldest flow not known to be closed: the expiry worker works from there. */
  #expireCursor = 0;
  readonly #current = new Map<string, Flow>();
  readonly #registrations = new Map<string, Registration>();
  #seq = 0;

  constructor(options: GeneratorOptions = {}) {
    this.#now = options.startMs ?? Date.parse('2026-03-01T08:00:00.000Z');
    this.#ttl = options.ttlMs ?? 10 * 60_000;
    this.#users = options.users ?? 5;
    this.#servers = options.servers ?? 3;
  }

  get nowMs(): number {
    return this.#now;
  }

  /** Events as the current machine writes them, unless `machineVersion` says otherwise. */
  #event(type: string, data: Record<string, unknown>, actor = 'system', machineVersion = MACHINE_VERSION): EventData {
    return {
      type,
      data,
      metadata: { at: new Date(this.#now).toISOString(), schemaVersion: 1, machineVersion, correlationId: `c${this.#seq}`, actor },
    };
  }

  /** Whether the machine takes an expiry written now by machine `version` (its guards, v1 and v2). */
  #expiryTakes(f: Flow, version: number): boolean {
    if (f.state !== 'pending' && f.state !== 'exchanging') return false;
    if (this.#now < f.expiresAtMs) return false;
    return f.state === 'pending' || version < 2 || this.#now >= f.exchangeStartedMs! + EXCHANGE_GRACE_MS;
  }

  #append(streamId: string, ...events: EventData[]): void {
    this.entries.push({ streamId, events });
    this.eventCount += events.length;
  }

  #pickOpen(a: number): Flow | undefined {
    // Mostly open flows (that is where things happen), recent ones first (a user finishes
    // what they just started); sometimes any flow (late writes).
    if (a % 10 !== 0) {
      for (let tries = 0; tries < 4; tries++) {
        const n = this.#open.length;
        if (n === 0) break;
        const i = n - 1 - (a % Math.min(n, 8));
        const f = this.#open[i]!;
        if (f.state === 'pending' || f.state === 'exchanging') return f;
        this.#open[i] = this.#open[n - 1]!;
        this.#open.pop();
      }
    }
    return this.#flows.length ? this.#flows[a % this.#flows.length] : undefined;
  }

  #close(f: Flow, state: Flow['state']): void {
    f.state = state;
  }

  #registration(server: string): Registration {
    const key = registrationKey(server, `https://as-${server}.example`, `http://localhost:3080/api/mcp/${server}/oauth/callback`);
    let r = this.#registrations.get(key);
    if (!r) this.#registrations.set(key, (r = { key, server, status: 'none', claimId: null, clientId: null, n: 0 }));
    return r;
  }

  /** Applies one step. */
  step([op, a, b]: Step): void {
    this.#seq++;
    this.#now += (b % 20) * 1000;
    if (op < 18) this.#start(a, b);
    else if (op < 24) this.#bind(a);
    else if (op < 28) this.#callbackError(a, b);
    else if (op < 48) this.#exchange(a);
    else if (op < 66) this.#complete(a);
    else if (op < 69) this.#reject(a, b);
    else if (op < 72) this.#fail(a, b);
    else if (op < 75) this.#cancel(a);
    else if (op < 85) this.#expire(a);
    else if (op < 93) this.#now += (a % 300) * 1000;
    else if (op < 95) this.#staleDiscard(a);
    else this.#stray(a, b);
  }

  #start(a: number, b: number): void {
    const user = `user${a % this.#users}`;
    const server = `srv${b % this.#servers}`;
    const ck = `${user}/${server}`;
    const previous = this.#current.get(ck);
    const live = previous && (previous.state === 'pending' || previous.state === 'exchanging') && this.#now < previous.expiresAtMs;
    if (live && a % 4 !== 0) {
      if (previous.state === 'pending') this.#append(previous.stream, this.#event('BrowserBound', { bindingHash: H('j', this.#seq) }, user));
      return;
    }
    const reg = this.#registration(server);
    let reused = true;
    if (reg.status !== 'registered') {
      reused = false;
      const claimId = `claim${this.#seq}`;
      reg.claimId = claimId;
      reg.status = 'registering';
      const started = this.#event('ClientRegistrationStarted', {
        claimId,
        serverName: server,
        issuer: `https://as-${server}.example`,
        redirectUri: `http://localhost:3080/api/mcp/${server}/oauth/callback`,
        claimExpiresAt: new Date(this.#now + 30_000).toISOString(),
      }, user);
      if (b % 13 === 0) {
        reg.status = 'failed';
        this.#append(clientStream(reg.key), started, this.#event('ClientRegistrationFailed', { claimId, reason: 'registration_failed' }, user));
        return;
      }
      reg.n++;
      reg.status = 'registered';
      reg.clientId = `client-${server}-${reg.n}`;
      this.#append(clientStream(reg.key), started, this.#event('ClientRegistered', {
        claimId,
        clientId: reg.clientId,
        kind: 'dcr',
        tokenEndpointAuthMethod: 'none',
        redirectUris: [`http://localhost:3080/api/mcp/${server}/oauth/callback`],
        issuer: `https://as-${server}.example`,
      }, user));
    }
    const id = `f${this.#seq.toString(36)}x${(a % 1000).toString(36)}`;
    const f: Flow = { id, stream: flowStream(id), user, server, state: 'pending', exchangeId: null, exchangeStartedMs: null, expiresAtMs: this.#now + this.#ttl, regKey: reg.key, clientId: reg.clientId!, reused };
    const supersedes = live ? previous : undefined;
    this.#append(connectionStream(user, server), this.#event('ConnectionAttemptStarted', {
      flowId: id,
      userId: user,
      serverName: server,
      expiresAt: new Date(f.expiresAtMs).toISOString(),
      authorizationUrl: SEALED,
      ...(supersedes ? { supersedes: supersedes.id } : {}),
    }, user));
    const initiated = this.#event('FlowInitiated', {
      flowId: id,
      userId: user,
      serverName: server,
      serverUrl: `https://${server}.example/mcp`,
      redirectUri: `http://localhost:3080/api/mcp/${server}/oauth/callback`,
      discovery: {
        issuer: `https://as-${server}.example`,
        authorizationEndpoint: `https://as-${server}.example/auth`,
        tokenEndpoint: `https://as-${server}.example/token`,
        issParameterSupported: true,
        clientIdMetadataDocumentSupported: false,
      },
      client: { clientId: f.clientId, kind: 'dcr', tokenEndpointAuthMethod: 'none', registrationKey: reg.key, registrationRevision: String(reg.n) },
      expiresAt: new Date(f.expiresAtMs).toISOString(),
      stateHash: H('s', this.#seq),
      bindingHash: H('b', this.#seq),
      codeVerifier: SEALED,
      authorizationUrl: SEALED,
    }, user);
    if (reused) {
      this.#append(f.stream, initiated, this.#event('ClientReused', { registrationKey: reg.key, registrationRevision: String(reg.n), clientId: f.clientId }, user));
    } else this.#append(f.stream, initiated);
    this.#flows.push(f);
    this.#open.push(f);
    this.#current.set(`${user}/${server}`, f);
    if (supersedes && supersedes.state === 'pending') {
      this.#append(supersedes.stream, this.#event('FlowSuperseded', { by: id }, user));
      this.#close(supersedes, 'superseded');
    }
  }

  #bind(a: number): void {
    const f = this.#pickOpen(a);
    if (f?.state === 'pending' && this.#now < f.expiresAtMs) this.#append(f.stream, this.#event('BrowserBound', { bindingHash: H('k', this.#seq) }, f.user));
  }

  #callbackError(a: number, b: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'pending' || this.#now >= f.expiresAtMs) return;
    this.#append(f.stream, this.#event('CallbackErrored', { error: CALLBACK_ERRORS[b % CALLBACK_ERRORS.length]! }, f.user));
    this.#close(f, 'failed');
  }

  #exchange(a: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'pending' || this.#now >= f.expiresAtMs) return;
    f.exchangeId = `x${this.#seq}`;
    f.exchangeStartedMs = this.#now;
    f.state = 'exchanging';
    this.#append(f.stream, this.#event('CodeExchangeStarted', { exchangeId: f.exchangeId, codeHash: H('c', this.#seq) }, f.user));
  }

  #complete(a: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'exchanging') return;
    this.#append(f.stream, this.#event('FlowCompleted', { exchangeId: f.exchangeId!, grantRevision: '0' }, f.user));
    this.#close(f, 'completed');
    this.#append(grantStream(f.user, f.server), this.#event('TokensIssued', {
      flowId: f.id,
      userId: f.user,
      serverName: f.server,
      issuer: `https://as-${f.server}.example`,
      clientId: f.clientId,
      ...(f.regKey ? { registrationKey: f.regKey } : {}),
      tokens: SEALED,
      hasRefreshToken: true,
    }, f.user));
  }

  #reject(a: number, b: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'exchanging') return;
    this.#append(f.stream, this.#event('ClientRejected', {
      exchangeId: f.exchangeId!,
      oauthError: REJECT_ERRORS[b % 2]!,
      clientId: f.clientId,
      ...(f.regKey ? { registrationKey: f.regKey } : {}),
      reused: f.reused,
      status: 401,
    }, f.user));
    this.#close(f, 'failed');
    const reg = f.regKey ? this.#registrations.get(f.regKey) : undefined;
    // The callback discards a rejected reused client most of the time (a crash may skip it).
    if (reg && f.reused && b % 3 !== 0 && reg.status === 'registered' && reg.clientId === f.clientId) {
      reg.status = 'discarded';
      this.#append(clientStream(reg.key), this.#event('ClientRegistrationDiscarded', { clientId: f.clientId, reason: 'client_rejected', flowId: f.id }, f.user));
    }
  }

  #fail(a: number, b: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'pending' && f?.state !== 'exchanging') return;
    const reason = FAIL_REASONS[b % FAIL_REASONS.length]!;
    this.#append(f.stream, this.#event('FlowFailed', { reason, ...(f.exchangeId ? { exchangeId: f.exchangeId } : {}), ...(b % 2 ? { oauthError: 'invalid_grant' } : {}) }, f.user));
    this.#close(f, 'failed');
  }

  #cancel(a: number): void {
    const f = this.#pickOpen(a);
    if (f?.state !== 'pending') return;
    this.#append(f.stream, this.#event('FlowCancelled', { reason: 'user' }, f.user));
    this.#close(f, 'cancelled');
  }

  #expire(a: number): void {
    // The worker expires the oldest overdue flow first; otherwise a recent one, if due.
    while (this.#expireCursor < this.#flows.length) {
      const oldest = this.#flows[this.#expireCursor]!;
      if (oldest.state === 'pending' || oldest.state === 'exchanging') break;
      this.#expireCursor++;
    }
    const oldest = this.#flows[this.#expireCursor];
    const f = oldest && this.#now >= oldest.expiresAtMs ? oldest : this.#pickOpen(a);
    // The worker waits out an exchange's grace (the machine would refuse it).
    if (!f || !this.#expiryTakes(f, MACHINE_VERSION)) return;
    this.#append(f.stream, this.#event('FlowExpired', { expiresAt: new Date(f.expiresAtMs).toISOString() }));
    this.#close(f, 'expired');
  }

  #staleDiscard(a: number): void {
    const regs = [...this.#registrations.values()].filter((r) => r.status === 'registered');
    const r = regs[a % Math.max(1, regs.length)];
    if (!r) return;
    r.status = 'discarded';
    this.#append(clientStream(r.key), this.#event('ClientRegistrationDiscarded', { clientId: r.clientId!, reason: 'stale' }));
  }

  /** Writes the machine ignores: a duplicate end, an early expiry, a foreign exchange id. */
  #stray(a: number, b: number): void {
    // An expiry goes to a flow inside its exchange's grace when there is one (where v1's and
    // v2's rules differ), else anywhere.
    // A late exchange goes to a flow overdue but not expired yet when there is one.
    const target =
      b % 5 === 1 ? this.#open.find((x) => x.state === 'exchanging' && this.#now >= x.expiresAtMs && this.#now < x.exchangeStartedMs! + EXCHANGE_GRACE_MS)
      : b % 5 === 4 ? this.#open.find((x) => x.state === 'pending' && this.#now >= x.expiresAtMs)
      : undefined;
    const f = target ?? (this.#flows.length ? this.#flows[a % this.#flows.length] : undefined);
    if (!f) return;
    switch (b % 5) {
      case 0:
        this.#append(f.stream, this.#event('FlowCompleted', { exchangeId: 'not-the-exchange', grantRevision: '0' }, f.user));
        break;
      case 1: {
        // Early, or mid-exchange inside the grace; sometimes as machine v1 wrote them.
        const version = a % 3 === 0 ? 1 : MACHINE_VERSION;
        const takes = this.#expiryTakes(f, version);
        this.#append(f.stream, this.#event('FlowExpired', { expiresAt: new Date(f.expiresAtMs).toISOString() }, 'system', version));
        if (takes) this.#close(f, 'expired');
        break;
      }
      case 2:
        this.#append(f.stream, this.#event('FlowCancelled', {}, f.user));
        if (f.state === 'pending') this.#close(f, 'cancelled');
        break;
      case 3:
        this.#append(f.stream, this.#event('ClientRejected', { exchangeId: 'nope', oauthError: 'invalid_client', clientId: f.clientId, reused: true }, f.user));
        break;
      default:
        this.#append(f.stream, this.#event('CodeExchangeStarted', { exchangeId: `late${this.#seq}`, codeHash: H('l', this.#seq) }, f.user));
        // The machine takes it on any pending flow, whatever the time.
        if (f.state === 'pending') {
          f.state = 'exchanging';
          f.exchangeId = `late${this.#seq}`;
          f.exchangeStartedMs = this.#now;
          // An expiry pass racing a late callback: past the expiry, inside the exchange's grace
          // (v2 refuses it, v1 took it).
          if (this.#now >= f.expiresAtMs) this.#stray(a, 1);
        }
    }
  }
}

/** A small deterministic PRNG (mulberry32) for the bench and the crash test's child. */
export function prng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Steps from a seed, until `events` events were produced. */
export function simulate(seed: number, events: number, options: GeneratorOptions = {}): LogSimulator {
  const rnd = prng(seed);
  const sim = new LogSimulator(options);
  while (sim.eventCount < events) sim.step([Math.floor(rnd() * 100), Math.floor(rnd() * 1e6), Math.floor(rnd() * 1e6)]);
  return sim;
}

/** Appends a generated log, in order (`any` revision: the simulator already decided legality). */
export async function appendLog(store: EventStore, entries: LogEntry[]): Promise<void> {
  for (const e of entries) await store.appendToStream(e.streamId, e.events, { expectedRevision: 'any' });
}
