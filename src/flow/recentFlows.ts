import type { FlowState } from './evolve.js';
import type { FlowEventData } from './events.js';

/** What this process last wrote to a pending flow: the state right after its own append. */
export interface KnownFlow {
  /** The flow after our append, at the revision that append produced. */
  state: FlowState;
  /** The flow's `FlowInitiated` payload as appended (sealed values stay sealed). */
  initiated: FlowEventData<'FlowInitiated'>;
}

/**
 * Flows this process started or bound a browser to, so that their callback, which usually
 * comes back to the same process, can decide without reading the flow stream again.
 *
 * Why this is safe without any invalidation across replicas: an entry is only ever used as the
 * expected revision of the callback's `CodeExchangeStarted` append. If anything was appended
 * since (a join or a cancellation on another replica, an expiry), that append fails with a
 * conflict and the callback falls back to reading the stream. Everything else the callback
 * checks on it is either fixed at initiation (state hash, server, issuer, client) or only ever
 * grows (binding hashes), and any answer that would not append (a binding mismatch, expiry, an
 * error from the authorization server) is given only after a fresh read, never from here.
 *
 * Entries are taken (removed) by the callback; the oldest go first beyond `maxEntries`, so an
 * abandoned attempt costs memory only until newer ones push it out.
 */
export class RecentFlows {
  readonly #byId = new Map<string, KnownFlow>();

  constructor(readonly maxEntries = 4096) {}

  /** Records (or replaces) what this process knows of `flowId`. */
  remember(flowId: string, known: KnownFlow): void {
    this.#byId.delete(flowId);
    this.#byId.set(flowId, known);
    if (this.#byId.size > this.maxEntries) this.#byId.delete(this.#byId.keys().next().value!);
  }

  /** Removes and returns the entry: a callback uses it at most once. */
  take(flowId: string): KnownFlow | undefined {
    const known = this.#byId.get(flowId);
    if (known !== undefined) this.#byId.delete(flowId);
    return known;
  }

  /** Updates the state of an entry that exists (a join appended to a flow we remember). */
  advance(flowId: string, state: FlowState): void {
    const known = this.#byId.get(flowId);
    if (known !== undefined) known.state = state;
  }

  get size(): number {
    return this.#byId.size;
  }
}
