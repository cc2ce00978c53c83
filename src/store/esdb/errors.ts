import { isCommandError } from '@eventstore/db-client';
import { EngineError, ErrorCode, quote } from '../../errors.js';
import { StreamNotFoundError, WrongExpectedVersionError } from '../errors.js';
import type { ExpectedRevision } from '../types.js';

/**
 * Translates `@eventstore/db-client` errors into the engine's typed errors, so that nothing
 * above the store port depends on the client library (6.2.1 is superseded by
 * `@kurrent/kurrentdb-client`; see docs/esdb.md).
 *
 * The client tags each error with a `type` string taken from the server's `exception` trailer
 * or the gRPC status ({@link https://github.com/EventStore/EventStore-Client-NodeJS | client}).
 */

/** Error `type`s after which a retry on a (re)discovered node may succeed. */
const TRANSIENT = new Set(['unavailable', 'cancelled', 'deadline-exceeded', 'timeout', 'not-leader', 'unknown']);

export interface ErrorContext {
  stream?: string;
  expected?: ExpectedRevision;
}

function commandType(err: unknown): string | undefined {
  return err instanceof Error && isCommandError(err) ? String((err as { type?: unknown }).type) : undefined;
}

/**
 * Whether a dropped call is worth retrying. Plain `Error`s come from discovery ("Failed to
 * discover after N attempts") and socket failures: transient too.
 */
export function isTransientEsdbError(err: unknown): boolean {
  if (err instanceof EngineError) return err.code === ErrorCode.STORE_UNAVAILABLE;
  const type = commandType(err);
  return type === undefined ? true : TRANSIENT.has(type);
}

export function mapEsdbError(err: unknown, ctx: ErrorContext = {}): Error {
  if (err instanceof EngineError) return err;
  const type = commandType(err);
  const e = err as Record<string, unknown>;
  switch (type) {
    case 'wrong-expected-version': {
      const actual = e.actualVersion;
      return new WrongExpectedVersionError(
        ctx.stream ?? String(e.streamName ?? ''),
        ctx.expected ?? (e.expectedVersion as ExpectedRevision),
        typeof actual === 'bigint' ? actual : 'no_stream',
        err,
      );
    }
    case 'stream-not-found':
      return new StreamNotFoundError(ctx.stream ?? String(e.streamName ?? ''));
    case 'stream-deleted':
      return new EngineError(ErrorCode.STREAM_NOT_FOUND, `Stream ${quote(ctx.stream ?? e.streamName)} was deleted`, {
        cause: err,
        details: { stream: ctx.stream ?? e.streamName, deleted: true },
      });
    case 'maximum-append-size-exceeded':
      return new EngineError(
        ErrorCode.EVENT_TOO_LARGE,
        `Append to ${quote(ctx.stream)} exceeds the server's maximum append size of ${String(e.maxAppendSize)} bytes`,
        { cause: err, details: { stream: ctx.stream, limit: e.maxAppendSize } },
      );
    case 'access-denied':
      return new EngineError(ErrorCode.STORE_UNAVAILABLE, 'EventStoreDB denied access: check the credentials in the connection string and the $all ACL', {
        cause: err,
        details: { reason: 'access-denied' },
      });
    case 'not-found':
      return new EngineError(ErrorCode.NOT_FOUND, `EventStoreDB: ${String(e.message ?? 'not found')}`, { cause: err });
    case 'invalid-argument':
      return new EngineError(ErrorCode.INVALID_ARGUMENT, `EventStoreDB rejected an argument: ${String(e.message)}`, { cause: err });
    default:
      break;
  }
  if (isTransientEsdbError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new EngineError(ErrorCode.STORE_UNAVAILABLE, `EventStoreDB is unavailable: ${message}`, {
      cause: err,
      details: { reason: type ?? 'connection' },
    });
  }
  return new EngineError(ErrorCode.INTERNAL, `EventStoreDB error (${type}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
