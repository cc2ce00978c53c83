import { EngineError, ErrorCode, quote } from '../errors.js';

/** Flow ids are base64url (`newFlowId`: a start time, then a random token); anything else cannot name a flow. */
const FLOW_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** A query parameter given exactly once, or undefined (absent, repeated or oversized). */
export function single(value: unknown, maxLength: number): string | undefined {
  return typeof value === 'string' && value.length <= maxLength ? value : undefined;
}

/**
 * A route's `:serverName`: 1-128 characters without control or format characters. Names that
 * fail this cannot exist (configured names are stricter still), so they are refused before
 * any lookup.
 */
export function serverNameParam(raw: string | undefined): string {
  if (!raw || raw.length > 128 || /[\p{Cc}\p{Cf}]/u.test(raw) || raw !== raw.normalize('NFC')) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Invalid server name ${quote(raw ?? '', 40)}`);
  }
  return raw;
}

/** True when the string could be a flow id; others answer 404 without touching the store. */
export function isFlowId(raw: string | undefined): raw is string {
  return raw !== undefined && FLOW_ID.test(raw);
}

/** Correlation ids accepted from `X-Request-Id`; others are replaced by a fresh one. */
export function isRequestId(raw: string): boolean {
  return /^[A-Za-z0-9._:-]{1,64}$/.test(raw);
}
