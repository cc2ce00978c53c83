import { EngineError, ErrorCode, quote } from '../errors.js';
import type { ExpectedRevision } from './types.js';

/** Optimistic-concurrency conflict, as `@eventstore/db-client`'s error of the same name. */
export class WrongExpectedVersionError extends EngineError {
  readonly streamName: string;
  readonly expectedVersion: ExpectedRevision;
  readonly actualVersion: bigint | 'no_stream';

  constructor(streamName: string, expected: ExpectedRevision, actual: bigint | 'no_stream', cause?: unknown) {
    super(
      ErrorCode.WRONG_EXPECTED_VERSION,
      `Append to ${quote(streamName)} expected revision ${String(expected)}, but the stream is at ${String(actual)}`,
      { cause, details: { stream: streamName, expected: String(expected), actual: String(actual) }, expected: true },
    );
    this.streamName = streamName;
    this.expectedVersion = expected;
    this.actualVersion = actual;
  }
}

export class StreamNotFoundError extends EngineError {
  readonly streamName: string;
  constructor(streamName: string) {
    super(ErrorCode.STREAM_NOT_FOUND, `Stream ${quote(streamName)} not found`, { details: { stream: streamName }, expected: true });
    this.streamName = streamName;
  }
}

export function isWrongExpectedVersion(err: unknown): err is WrongExpectedVersionError {
  return err instanceof WrongExpectedVersionError;
}
