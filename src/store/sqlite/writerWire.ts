import { EngineError, ErrorCode } from '../../errors.js';
import { WrongExpectedVersionError } from '../errors.js';
import type { Durability, ExpectedRevision } from '../types.js';
import type { AppendPart } from './prepareBatch.js';
import type { SqliteStoreOptions } from './sqliteOptions.js';

/** Messages to the writer thread. `handle` names one store's connection there. */
export type WriterRequest =
  | { op: 'open'; handle: number; options: SqliteStoreOptions }
  | { op: 'append'; id: number; handle: number; parts: AppendPart[]; durability: Durability | undefined }
  | { op: 'putDataKey'; id: number; handle: number; keyId: string; wrapped: string; durability: Durability | undefined }
  | { op: 'destroyDataKey'; id: number; handle: number; keyId: string; scrub: boolean }
  | { op: 'close'; id: number; handle: number }
  /** A checkpoint of the handle's file (`walCheckpoint.ts`); the reply is its `CheckpointOutcome`. */
  | { op: 'checkpoint'; id: number; handle: number };

export type WriterReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

interface WireCause {
  message: string;
  code?: string;
}

/**
 * An error as it crosses the thread boundary. Structured clone keeps an Error's message but
 * not its class or fields, and callers branch on both (`WrongExpectedVersionError`, codes).
 */
export type WireError =
  | { kind: 'wrong_expected_version'; stream: string; expected: ExpectedRevision; actual: bigint | 'no_stream' }
  | { kind: 'engine'; code: string; message: string; details?: Record<string, unknown>; cause?: WireCause }
  | { kind: 'error'; message: string; code?: string };

function causeOf(err: unknown): WireCause | undefined {
  if (err === undefined || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return { message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) };
}

export function toWireError(err: unknown): WireError {
  if (err instanceof WrongExpectedVersionError) {
    return { kind: 'wrong_expected_version', stream: err.streamName, expected: err.expectedVersion, actual: err.actualVersion };
  }
  if (err instanceof EngineError) {
    const cause = causeOf(err.cause);
    return {
      kind: 'engine',
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      ...(cause ? { cause } : {}),
    };
  }
  const plain = causeOf(err) ?? { message: 'unknown failure' };
  return { kind: 'error', ...plain };
}

const withCode = (c: WireCause): Error => Object.assign(new Error(c.message), c.code ? { code: c.code } : {});

export function fromWireError(wire: WireError): Error {
  switch (wire.kind) {
    case 'wrong_expected_version':
      return new WrongExpectedVersionError(wire.stream, wire.expected, wire.actual);
    case 'engine':
      return new EngineError(wire.code, wire.message, {
        ...(wire.details ? { details: wire.details } : {}),
        ...(wire.cause ? { cause: withCode(wire.cause) } : {}),
      });
    default:
      return withCode(wire);
  }
}

/** What callers of a write hear when the thread that held it stopped: the outcome is unknown. */
export function writerStopped(cause: unknown): EngineError {
  return new EngineError(
    ErrorCode.STORE_UNAVAILABLE,
    'The SQLite writer thread stopped; writes in flight may or may not have committed (retrying with the same event ids is safe)',
    { cause },
  );
}
