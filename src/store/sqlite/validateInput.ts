import { EngineError, ErrorCode, quote } from '../../errors.js';
import type { ExpectedRevision } from '../types.js';

/** Longest stream id accepted; EventStoreDB has no hard limit, but ids this long are bugs. */
export const MAX_STREAM_NAME_LENGTH = 512;
/** Longest event type accepted. */
export const MAX_EVENT_TYPE_LENGTH = 256;

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REVISION = 2n ** 63n - 1n;

/**
 * Stream ids end up in logs, URLs and `$by_category`; control characters would forge log lines
 * and a leading `$` is reserved for EventStoreDB system streams, so both are refused up front.
 */
export function validateStreamName(streamId: unknown): asserts streamId is string {
  if (
    typeof streamId !== 'string' ||
    streamId.length === 0 ||
    streamId.length > MAX_STREAM_NAME_LENGTH ||
    streamId.startsWith('$') ||
    CONTROL_CHARS.test(streamId)
  ) {
    throw new EngineError(
      ErrorCode.INVALID_STREAM_NAME,
      `Invalid stream name ${quote(streamId)}: non-empty, at most ${MAX_STREAM_NAME_LENGTH} characters, no control characters, not starting with "$"`,
    );
  }
}

/** Event types are the schema's names: they must be present and short. */
export function validateEventType(type: unknown): asserts type is string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_EVENT_TYPE_LENGTH) {
    throw new EngineError(
      ErrorCode.INVALID_ARGUMENT,
      `Invalid event type ${quote(type)}: a non-empty string of at most ${MAX_EVENT_TYPE_LENGTH} characters`,
    );
  }
}

/**
 * Event ids are the idempotency keys, so they must be UUIDs as on EventStoreDB. Stored in lower
 * case so that the same UUID written in another case is still the same event.
 */
export function normaliseEventId(id: unknown): string {
  if (typeof id !== 'string' || !UUID_SHAPE.test(id)) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Invalid event id ${quote(id)}: expected a UUID`);
  }
  return id.toLowerCase();
}

/** A number where a bigint belongs is a caller bug that would silently lose precision later. */
export function validateExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= 0n && expected <= MAX_REVISION) return;
  throw new EngineError(
    ErrorCode.INVALID_EXPECTED_REVISION,
    `Invalid expected revision ${quote(expected)}: "any", "no_stream", "stream_exists" or a bigint >= 0`,
  );
}

/** Turns a `maxCount` option into a positive safe integer (Infinity when absent). */
export function normaliseMaxCount(maxCount: unknown): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  const n = typeof maxCount === 'bigint' ? Number(maxCount) : maxCount;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Invalid maxCount ${quote(maxCount)}: a positive integer`);
  }
  return n;
}
