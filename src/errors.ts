/**
 * The engine's one error class. Every failure the engine raises on purpose is an
 * {@link EngineError} with a stable string `code`; the HTTP layer maps codes to statuses
 * (`src/http/errorStatus.ts`) and nothing else inspects messages.
 *
 * Attacker-controlled values are JSON-quoted in messages ({@link quote}) so that control
 * characters cannot forge log lines.
 */
export const ErrorCode = {
  // configuration
  CONFIG_INVALID: 'config_invalid',
  // input validation (4xx)
  INVALID_ARGUMENT: 'invalid_argument',
  INVALID_STREAM_NAME: 'invalid_stream_name',
  INVALID_EXPECTED_REVISION: 'invalid_expected_revision',
  EVENT_NOT_SERIALIZABLE: 'event_not_serializable',
  EVENT_TOO_LARGE: 'event_too_large',
  DUPLICATE_EVENT_ID: 'duplicate_event_id',
  UNAUTHENTICATED: 'unauthenticated',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  UNKNOWN_SERVER: 'unknown_server',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  // server registry
  INVALID_SERVER_CONFIG: 'invalid_server_config',
  SERVER_URL_REFUSED: 'server_url_refused',
  SERVER_NAME_TAKEN: 'server_name_taken',
  SERVER_READ_ONLY: 'server_read_only',
  // store
  WRONG_EXPECTED_VERSION: 'wrong_expected_version',
  STREAM_NOT_FOUND: 'stream_not_found',
  STORE_CLOSED: 'store_closed',
  STORE_UNAVAILABLE: 'store_unavailable',
  CONCURRENCY_RETRIES_EXHAUSTED: 'concurrency_retries_exhausted',
  // flow (names match the /oauth/error?error= contract where they overlap)
  MISSING_CODE: 'missing_code',
  MISSING_STATE: 'missing_state',
  INVALID_STATE: 'invalid_state',
  CSRF_VALIDATION_FAILED: 'csrf_validation_failed',
  ISSUER_MISMATCH: 'issuer_mismatch',
  FLOW_EXPIRED: 'flow_expired',
  FLOW_CANCELLED: 'flow_cancelled',
  FLOW_NOT_PENDING: 'flow_not_pending',
  CLIENT_REJECTED: 'client_rejected',
  CALLBACK_FAILED: 'callback_failed',
  ILLEGAL_TRANSITION: 'illegal_transition',
  // authorization-server driver
  SSRF_BLOCKED: 'ssrf_blocked',
  INSECURE_URL: 'insecure_url',
  DISCOVERY_FAILED: 'discovery_failed',
  PKCE_UNSUPPORTED: 'pkce_unsupported',
  REGISTRATION_FAILED: 'registration_failed',
  NO_CLIENT_IDENTITY: 'no_client_identity',
  TOKEN_REQUEST_FAILED: 'token_request_failed',
  UPSTREAM_TIMEOUT: 'upstream_timeout',
  RESPONSE_TOO_LARGE: 'response_too_large',
  // grants
  REAUTHORIZATION_REQUIRED: 'reauthorization_required',
  // secrets
  DECRYPTION_FAILED: 'decryption_failed',
  KEY_UNKNOWN: 'key_unknown',
  KEY_SHREDDED: 'key_shredded',
  // schema evolution
  UNKNOWN_EVENT_TYPE: 'unknown_event_type',
  INVALID_EVENT_PAYLOAD: 'invalid_event_payload',
  FUTURE_SCHEMA_VERSION: 'future_schema_version',
  // projections
  PROJECTION_FAULTED: 'projection_faulted',
  PROJECTION_NOT_FOUND: 'projection_not_found',
  INTERNAL: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface EngineErrorOptions {
  cause?: unknown;
  /** Extra structured facts for logs and API answers. Never put secrets here. */
  details?: Record<string, unknown>;
  /** An expected outcome rather than a fault: no stack trace is captured. */
  expected?: boolean;
}

export class EngineError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
    // Outcomes the engine expects on its hot paths (a stream that does not exist yet, a user
    // with no grant) skip the stack trace: capturing one costs more than the read around it.
    const limit = Error.stackTraceLimit;
    if (options.expected) Error.stackTraceLimit = 0;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.expected) Error.stackTraceLimit = limit;
    this.name = this.constructor.name;
    this.code = code;
    this.details = options.details;
  }
}

/**
 * What JSON leaves raw but a message must not show raw: angle brackets (a 4xx message reaches
 * the client, which may render it as HTML), bidi controls and other format characters (they
 * reorder or hide what is displayed), and the line separators U+2028/U+2029.
 */
const UNSAFE_IN_MESSAGE = /[<>\p{Cf}\u2028\u2029]/gu;
const escapeCodeUnits = (c: string): string => c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

/**
 * JSON-quotes an attacker-controlled value for a message, cut to a readable length. The
 * characters {@link UNSAFE_IN_MESSAGE} names are `\uXXXX`-escaped too: still a JSON string of
 * the same value, but one that carries no markup, line break or reordering.
 */
export function quote(value: unknown, max = 200): string {
  let s: string;
  try {
    s = JSON.stringify(typeof value === 'bigint' ? value.toString() : value) ?? String(value);
  } catch {
    s = JSON.stringify(String(value));
  }
  s = s.replace(UNSAFE_IN_MESSAGE, escapeCodeUnits);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function isEngineError(err: unknown, code?: string): err is EngineError {
  return err instanceof EngineError && (code === undefined || err.code === code);
}
