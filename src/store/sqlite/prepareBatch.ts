import { EngineError, ErrorCode, quote } from '../../errors.js';
import { MAX_EVENT_BYTES, type EventData, type ExpectedRevision, type StreamAppend } from '../types.js';
import { serializeJson } from './serializeJson.js';
import { timeOrderedId } from '../../clock.js';
import { normaliseEventId, validateEventType, validateExpectedRevision, validateStreamName } from './validateInput.js';

/** An event ready for the INSERT: every check done, JSON text computed. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

const EMPTY_METADATA = '{}';

/** UTF-8 size of data + metadata; three bytes per UTF-16 unit bound it, so small events skip the count. */
function eventBytes(data: string, metadata: string): number {
  const units = data.length + metadata.length;
  return units * 3 <= MAX_EVENT_BYTES ? units : Buffer.byteLength(data, 'utf8') + Buffer.byteLength(metadata, 'utf8');
}

/**
 * Validates and serialises a whole batch before anything is written, so that a bad event in the
 * middle of a batch leaves the store untouched (appends are all-or-nothing).
 */
export function prepareBatch(events: EventData | EventData[]): PreparedEvent[] {
  const list = Array.isArray(events) ? events : [events];
  if (list.length === 0) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'An append needs at least one event');
  }
  const prepared: PreparedEvent[] = new Array(list.length);
  const seen = list.length > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < list.length; i++) {
    const event = list[i];
    if (event === null || typeof event !== 'object') {
      throw new EngineError(ErrorCode.INVALID_ARGUMENT, `Event #${i} is not an object`);
    }
    validateEventType(event.type);
    const id = event.id === undefined ? timeOrderedId() : normaliseEventId(event.id);
    const data = serializeJson(event.data, `Event #${i} data`);
    const metadata = event.metadata === undefined ? EMPTY_METADATA : serializeJson(event.metadata, `Event #${i} metadata`);
    const size = eventBytes(data, metadata);
    if (size > MAX_EVENT_BYTES) {
      throw new EngineError(
        ErrorCode.EVENT_TOO_LARGE,
        `Event #${i} (${quote(event.type)}) is ${size} bytes of JSON; the limit is ${MAX_EVENT_BYTES}`,
        { details: { size, limit: MAX_EVENT_BYTES } },
      );
    }
    if (seen !== undefined) {
      if (seen.has(id)) {
        throw new EngineError(ErrorCode.DUPLICATE_EVENT_ID, `Event id ${quote(id)} appears twice in one batch`);
      }
      seen.add(id);
    }
    prepared[i] = { id, type: event.type, data, metadata };
  }
  return prepared;
}

/** One stream's part of an append, validated and serialised. */
export interface AppendPart {
  streamId: string;
  batch: PreparedEvent[];
  expected: ExpectedRevision;
}

/** Validates one stream's append and serialises its events (throws on bad input). */
export function prepareAppend({ streamId, events, expectedRevision }: StreamAppend): AppendPart {
  validateStreamName(streamId);
  const expected = expectedRevision ?? 'any';
  validateExpectedRevision(expected);
  return { streamId, batch: prepareBatch(events), expected };
}

/** Every part of an `appendToStreams` checked before anything is written: bad input writes nothing. */
export function prepareAppends(parts: StreamAppend[]): AppendPart[] {
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'appendToStreams needs at least one part');
  }
  return parts.map(prepareAppend);
}
