import { ErrorCode } from '../errors.js';

/**
 * HTTP status per engine error code. Bad input is always 4xx; 502/503/504 say an upstream
 * (authorization server, store) failed; 500 is left for our own bugs. Unlisted codes are 500.
 */
const STATUS: Record<string, number> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.INVALID_STREAM_NAME]: 400,
  [ErrorCode.INVALID_EXPECTED_REVISION]: 400,
  [ErrorCode.EVENT_NOT_SERIALIZABLE]: 400,
  [ErrorCode.DUPLICATE_EVENT_ID]: 400,
  [ErrorCode.MISSING_CODE]: 400,
  [ErrorCode.MISSING_STATE]: 400,
  [ErrorCode.INVALID_STATE]: 400,
  [ErrorCode.CSRF_VALIDATION_FAILED]: 403,
  [ErrorCode.ISSUER_MISMATCH]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.UNKNOWN_SERVER]: 404,
  [ErrorCode.STREAM_NOT_FOUND]: 404,
  [ErrorCode.PROJECTION_NOT_FOUND]: 404,
  [ErrorCode.FLOW_EXPIRED]: 410,
  [ErrorCode.FLOW_CANCELLED]: 409,
  [ErrorCode.FLOW_NOT_PENDING]: 409,
  [ErrorCode.ILLEGAL_TRANSITION]: 409,
  [ErrorCode.WRONG_EXPECTED_VERSION]: 409,
  [ErrorCode.CONCURRENCY_RETRIES_EXHAUSTED]: 409,
  [ErrorCode.REAUTHORIZATION_REQUIRED]: 409,
  [ErrorCode.INVALID_SERVER_CONFIG]: 400,
  [ErrorCode.SERVER_URL_REFUSED]: 400,
  [ErrorCode.SERVER_NAME_TAKEN]: 409,
  [ErrorCode.SERVER_READ_ONLY]: 403,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.EVENT_TOO_LARGE]: 413,
  'unsupported_media_type': 415,
  'method_not_allowed': 405,
  [ErrorCode.CLIENT_REJECTED]: 502,
  [ErrorCode.CALLBACK_FAILED]: 502,
  [ErrorCode.SSRF_BLOCKED]: 502,
  [ErrorCode.INSECURE_URL]: 502,
  [ErrorCode.DISCOVERY_FAILED]: 502,
  [ErrorCode.PKCE_UNSUPPORTED]: 502,
  [ErrorCode.REGISTRATION_FAILED]: 502,
  [ErrorCode.NO_CLIENT_IDENTITY]: 502,
  // At request time only a server's own configuration raises this (validation refuses it now,
  // but a user-managed server recorded before that, or a host's `resolveServer`, can still
  // carry one): like no_client_identity, the MCP server as configured cannot be used, which is
  // neither the request's fault (4xx) nor a bug of ours (500, whose message would be hidden).
  // At start-up it never reaches HTTP.
  [ErrorCode.CONFIG_INVALID]: 502,
  [ErrorCode.TOKEN_REQUEST_FAILED]: 502,
  [ErrorCode.RESPONSE_TOO_LARGE]: 502,
  [ErrorCode.UPSTREAM_TIMEOUT]: 504,
  [ErrorCode.STORE_CLOSED]: 503,
  [ErrorCode.STORE_UNAVAILABLE]: 503,
  [ErrorCode.PROJECTION_FAULTED]: 503,
};

/** The HTTP status for an engine error code (`src/errors.ts` `ErrorCode`). */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** Stable codes for the 4xx errors Koa and koa-body raise themselves (co-body, router). */
export function codeOfHttpStatus(status: number): string {
  switch (status) {
    case 401: return ErrorCode.UNAUTHENTICATED;
    case 403: return ErrorCode.FORBIDDEN;
    case 404: return ErrorCode.NOT_FOUND;
    case 405: return 'method_not_allowed';
    case 413: return ErrorCode.PAYLOAD_TOO_LARGE;
    case 415: return 'unsupported_media_type';
    default: return ErrorCode.INVALID_ARGUMENT;
  }
}
