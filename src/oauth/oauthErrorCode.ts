/**
 * RFC 6749 §5.2 `error` syntax (1*NQSCHAR, without the space: codes are single words), at
 * most 64 characters. The flow's and grant's event schemas and the callback hold codes to the
 * same rule; anything else an authorization server sends is not an error code we can trust
 * to classify, record or show.
 */
export const OAUTH_ERROR_CODE = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

export const isOAuthErrorCode = (value: unknown): value is string => typeof value === 'string' && OAUTH_ERROR_CODE.test(value);
