import { OAuthErrorResponseSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { OAuthError, OAUTH_ERRORS } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { EngineError, isEngineError, quote } from '../errors.js';
import type { FetchLike } from './guardedFetch.js';
import { isOAuthErrorCode } from './oauthErrorCode.js';

/** What the last failed response of an exchange looked like (no body kept: it is not ours). */
export interface FailedResponse {
  status: number;
  /** RFC 6749 §5.2 `error`, present only when the body was a structured OAuth error with a well-formed code. */
  oauthError?: string;
  errorDescription?: string;
}

/**
 * Wraps a fetch so the caller can classify a failure from the structured response: the SDK's
 * token functions throw an `OAuthError` but drop the HTTP status, and turn an unparseable body
 * into a generic `ServerError` that is indistinguishable from a real `server_error`.
 */
export function observingFetch(fetchFn: FetchLike): { fetch: FetchLike; lastFailure(): FailedResponse | undefined } {
  let last: FailedResponse | undefined;
  return {
    fetch: async (input, init) => {
      const res = await fetchFn(input, init);
      if (res.ok || (res.status >= 300 && res.status < 400)) return res;
      last = { status: res.status };
      try {
        const parsed = OAuthErrorResponseSchema.safeParse(JSON.parse(await res.clone().text()));
        if (parsed.success && isOAuthErrorCode(parsed.data.error)) {
          last.oauthError = parsed.data.error;
          if (parsed.data.error_description) last.errorDescription = parsed.data.error_description.slice(0, 300);
        }
      } catch {
        // not JSON: stays unclassified (as does a malformed code, above)
      }
      return res;
    },
    lastFailure: () => last,
  };
}

/**
 * The RFC 6749 error code of a failed OAuth request, classified through the SDK's error
 * classes (`InvalidClientError`, `InvalidGrantError`, ...) and only when the response really
 * was a structured OAuth error — never from a message substring.
 */
export function classifyOAuthError(err: unknown, failure: FailedResponse | undefined): string | undefined {
  if (!(err instanceof OAuthError) || !isOAuthErrorCode(failure?.oauthError)) return undefined;
  // Own keys only: a well-formed code such as `constructor` must not find Object's.
  const known = Object.hasOwn(OAUTH_ERRORS, failure.oauthError) ? OAUTH_ERRORS[failure.oauthError] : undefined;
  // A registered code must come back as its own SDK class; a code the SDK does not know
  // (RFC 7591's `invalid_redirect_uri`, ...) arrives as a generic ServerError and is taken
  // from the parsed body.
  if (known) return err instanceof known ? err.errorCode : undefined;
  return failure.oauthError;
}

/**
 * Turns a failure of an SDK OAuth call into an `EngineError` with `details.oauthError` and
 * `details.status`. The SDK's error is not attached as `cause`: its message can carry the raw
 * response body.
 */
export function toEngineError(
  code: string,
  what: string,
  err: unknown,
  failure: FailedResponse | undefined,
  extra: Record<string, unknown> = {},
): EngineError {
  if (isEngineError(err)) return err;
  const oauthError = classifyOAuthError(err, failure);
  const network = err instanceof TypeError && failure === undefined;
  const reason = oauthError
    ? undefined
    : network
      ? 'network_error'
      : err instanceof OAuthError
        ? 'unstructured_error_response'
        : 'invalid_response';
  return new EngineError(code, `${what} failed${oauthError ? `: ${quote(oauthError)}` : failure ? `: HTTP ${failure.status}` : ''}`, {
    // fetch's own TypeError names the network cause and nothing of ours.
    ...(network ? { cause: err } : {}),
    details: {
      ...extra,
      ...(oauthError ? { oauthError } : {}),
      ...(failure?.status !== undefined ? { status: failure.status } : {}),
      ...(failure?.errorDescription ? { errorDescription: failure.errorDescription } : {}),
      ...(reason ? { reason } : {}),
    },
  });
}
