import type { Clock, Random } from '../clock.js';
import type { DataKeySealer } from '../crypto/dataKeySealer.js';
import type { McpServerConfig, OAuthDriver } from '../oauth/types.js';
import type { EventStore } from '../store/types.js';
import type { RecentFlows } from './recentFlows.js';
import type { SealedValue } from './sealed.js';

/**
 * Seals secrets before they enter an event and opens them for the effect that needs them.
 * `aad` binds a ciphertext to where it lives (stream id + field), so a sealed value copied
 * into another stream does not open. Implemented over `src/crypto`'s key ring.
 */
export interface Sealer {
  seal(plaintext: string, aad: string): SealedValue;
  open(sealed: SealedValue, aad: string): string;
}

/** Minimal structured logger (pino-compatible). Never pass secrets. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** Observability hooks the HTTP layer wires to prom-client; no-ops by default. */
export interface FlowObserver {
  flowStarted?(serverName: string): void;
  flowCompleted?(serverName: string): void;
  flowFailed?(serverName: string, reason: string): void;
  appendLatency?(seconds: number): void;
}

export interface FlowDeps {
  store: EventStore;
  driver: OAuthDriver;
  sealer: Sealer;
  /** Seals grant tokens under per-grant data keys (crypto-shredding on disconnect). */
  grantSealer: DataKeySealer;
  clock: Clock;
  random: Random;
  logger: Logger;
  observer: FlowObserver;
  /** Configured servers; host applications may resolve user-managed ones too. */
  resolveServer(serverName: string, userId?: string): Promise<McpServerConfig | undefined>;
  publicUrl: string;
  flowTtlMs: number;
  clientName: string;
  /**
   * The fetch MCP connections use (tool listing, tool calls): the same SSRF guard as the OAuth
   * driver, in streaming mode, so a server whose DNS later points inside the network is refused
   * at connect time, not only when it was registered.
   */
  mcpFetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /**
   * Flows this process started, so their callback can skip re-reading the flow stream (the
   * append it makes still checks the revision). Absent: every callback reads the stream.
   */
  recentFlows?: RecentFlows;
}

/** The redirect URI of one server (architecture §6: the callback route). */
export const redirectUriFor = (publicUrl: string, serverName: string): string =>
  `${publicUrl}/api/mcp/${encodeURIComponent(serverName)}/oauth/callback`;
