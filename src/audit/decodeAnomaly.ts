import { ErrorCode } from '../errors.js';
import type { EngineError } from '../errors.js';
import type { RecordedEvent } from '../store/types.js';
import type { Anomaly } from './anomaly.js';

/** Maps a `decodeEvent` failure to the anomaly replay reports. */
export function decodeAnomaly(e: RecordedEvent, error: EngineError): Anomaly {
  const kind =
    error.code === ErrorCode.UNKNOWN_EVENT_TYPE
      ? 'unknown_event_type'
      : error.code === ErrorCode.FUTURE_SCHEMA_VERSION
        ? 'future_schema_version'
        : 'invalid_event_payload';
  const issues = Array.isArray(error.details?.issues) ? ` (${(error.details.issues as unknown[]).join(', ')})` : '';
  return { kind, stream: e.streamId, revision: e.revision.toString(), type: e.type, message: `${error.message}${issues}` };
}
