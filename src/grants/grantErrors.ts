import { EngineError, ErrorCode, quote } from '../errors.js';
import { isOAuthErrorCode } from '../oauth/oauthErrorCode.js';

/** Where a host sends the user to start a new flow (architecture §6). */
export const reinitializePath = (serverName: string): string => `/api/mcp/${encodeURIComponent(serverName)}/reinitialize`;

/**
 * The grant cannot produce an access token any more: only a new authorization helps. The
 * details say how to start it, so hosts need no knowledge of why.
 */
export function reauthorizationRequired(serverName: string, reason: string, extra: Record<string, unknown> = {}): EngineError {
  return new EngineError(ErrorCode.REAUTHORIZATION_REQUIRED, `Re-authorization required for ${quote(serverName, 80)} (${reason})`, {
    details: { serverName, reinitialize: reinitializePath(serverName), reason, ...extra },
    expected: true,
  });
}

/** How a failed refresh is handled (RFC 6749 §5.2 code first, then transport facts). */
export interface RefreshFailureClass {
  /** Recorded `reason`. */
  reason: string;
  oauthError?: string;
  status?: number;
  retryable: boolean;
  /** `invalid_client`/`unauthorized_client`: the registration is dead for everyone. */
  clientRejected: boolean;
}

const CLIENT_REJECTION = new Set(['invalid_client', 'unauthorized_client']);
const TRANSIENT_OAUTH = new Set(['server_error', 'temporarily_unavailable']);

/**
 * Classifies a driver failure by the structured `details.oauthError` (never a message):
 * `invalid_grant` and other final OAuth codes mean re-authorization; client rejections also
 * discard the registration; network errors, timeouts, 429 and 5xx are retryable.
 */
export function classifyRefreshFailure(err: unknown): RefreshFailureClass {
  const details = err instanceof EngineError ? err.details ?? {} : {};
  const oauthError = isOAuthErrorCode(details.oauthError) ? details.oauthError : undefined;
  const status = typeof details.status === 'number' ? details.status : undefined;
  const base = { ...(oauthError ? { oauthError } : {}), ...(status !== undefined ? { status } : {}) };
  if (oauthError && CLIENT_REJECTION.has(oauthError)) return { ...base, reason: 'client_rejected', retryable: false, clientRejected: true };
  if (oauthError && TRANSIENT_OAUTH.has(oauthError)) return { ...base, reason: oauthError, retryable: true, clientRejected: false };
  if (oauthError) return { ...base, reason: oauthError, retryable: false, clientRejected: false };
  const code = err instanceof EngineError ? err.code : 'error';
  if (code === ErrorCode.UPSTREAM_TIMEOUT) return { ...base, reason: 'timeout', retryable: true, clientRejected: false };
  if (status === undefined || status >= 500 || status === 429) {
    const reason = status === undefined ? (typeof details.reason === 'string' ? details.reason.slice(0, 64) : 'network_error') : `http_${status}`;
    return { ...base, reason, retryable: true, clientRejected: false };
  }
  return { ...base, reason: `http_${status}`, retryable: false, clientRejected: false };
}

/** The refresh failed for now; trying again later may work. */
export function refreshUnavailable(serverName: string, failure: RefreshFailureClass): EngineError {
  return new EngineError(ErrorCode.TOKEN_REQUEST_FAILED, `Token refresh for ${quote(serverName, 80)} failed (${failure.reason}); retry later`, {
    details: { serverName, retryable: true, reason: failure.reason, ...(failure.status !== undefined ? { status: failure.status } : {}) },
  });
}
