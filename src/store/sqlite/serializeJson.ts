import { EngineError, ErrorCode, quote } from '../../errors.js';

/**
 * Refuses what `JSON.stringify` would silently drop or change (functions, symbols, `NaN`,
 * `Infinity`, `Map`, `Set`), so that what is read back is what was appended. `undefined` object
 * members are dropped as in plain JSON: optional fields are common and harmless.
 */
function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new NotSerializable(`${typeof value} at ${quote(key)}`);
    case 'number':
      if (!Number.isFinite(value)) throw new NotSerializable(`${String(value)} at ${quote(key)}`);
      return value;
    case 'object':
      if (value instanceof Map || value instanceof Set) {
        throw new NotSerializable(`${value.constructor.name} at ${quote(key)}`);
      }
      return value;
    default:
      return value;
  }
}

class NotSerializable extends Error {}

/**
 * JSON text of one event field. Errors name the field (`data`/`metadata`) and the event's place
 * in the batch; bigint and cycles come out of `JSON.stringify` itself as TypeErrors.
 */
export function serializeJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, strictReplacer);
  } catch (err) {
    const reason = err instanceof NotSerializable ? err.message : err instanceof Error ? err.message : String(err);
    throw new EngineError(ErrorCode.EVENT_NOT_SERIALIZABLE, `${what} is not JSON-serialisable: ${reason}`, {
      cause: err,
    });
  }
  if (json === undefined) {
    throw new EngineError(ErrorCode.EVENT_NOT_SERIALIZABLE, `${what} is not JSON-serialisable: ${typeof value}`);
  }
  return json;
}
