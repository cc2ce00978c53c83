import type { z } from 'zod';
import { EngineError, ErrorCode, quote } from '../errors.js';
import type { RecordedEvent } from '../store/types.js';
import { ClientEventSchemas } from '../clients/events.js';
import { GrantEventSchemas, McpConnectionEventSchemas } from '../grants/events.js';
import { RegistryEventSchemas } from '../registry/events.js';
import { ConnectionEventSchemas } from './connectionEvents.js';
import { FlowEventSchemas } from './events.js';
import { compileFastCheck, type FastCheck } from './fastCheck.js';
import { EventMetadataSchema, type EventMetadata } from './metadata.js';

/**
 * The event catalogue: every event type the engine has ever written, its current schema
 * version, and the upcasters that lift older payloads to it. Events are forever: a type is
 * never renamed or removed from here, and a new payload shape means a new version plus an
 * upcaster from the previous one.
 */

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

interface CatalogueEntry {
  schema: z.ZodType;
  version: number;
  /** `upcasters[n]` lifts version n to n + 1. */
  upcasters: Record<number, Upcaster>;
  /** The fast check compiled from `schema` (recompiled when the schema is replaced). */
  fast?: { schema: z.ZodType; check: FastCheck | null };
}

/** The entry's fast check, compiled on first use and again whenever its schema changed. */
function fastCheckOf(entry: CatalogueEntry): FastCheck | null {
  let fast = entry.fast;
  if (fast === undefined || fast.schema !== entry.schema) {
    fast = { schema: entry.schema, check: compileFastCheck(entry.schema) };
    entry.fast = fast;
  }
  return fast.check;
}

const entries = (schemas: Record<string, z.ZodType>): Record<string, CatalogueEntry> =>
  Object.fromEntries(Object.entries(schemas).map(([type, schema]) => [type, { schema, version: 1, upcasters: {} }]));

export const CATALOGUE: Record<string, CatalogueEntry> = {
  ...entries(FlowEventSchemas),
  ...entries(ConnectionEventSchemas),
  ...entries(ClientEventSchemas),
  ...entries(GrantEventSchemas),
  ...entries(McpConnectionEventSchemas),
  ...entries(RegistryEventSchemas),
};

/** Registers a later schema version (used by later releases and by the upcasting tests). */
export function registerSchemaVersion(type: string, version: number, schema: z.ZodType, fromPrevious: Upcaster): void {
  const entry = CATALOGUE[type];
  if (!entry) throw new EngineError(ErrorCode.UNKNOWN_EVENT_TYPE, `Unknown event type ${quote(type)}`);
  if (version !== entry.version + 1) throw new Error(`schema versions of ${type} must be added in order`);
  entry.upcasters[entry.version] = fromPrevious;
  entry.version = version;
  entry.schema = schema;
}

/** A decoded event: payload validated and upcast to the current schema version. */
export interface DomainEvent<Type extends string = string, Data = Record<string, unknown>> {
  type: Type;
  data: Data;
  metadata: EventMetadata;
  streamId: string;
  revision: bigint;
  id: string;
}

export type DecodeResult =
  | { ok: true; event: DomainEvent }
  | { ok: false; error: EngineError };

/** Where an undecodable event sits; built on the error paths only (replay decodes the whole log). */
const whereOf = (recorded: RecordedEvent) => ({ stream: recorded.streamId, revision: recorded.revision.toString(), type: recorded.type });

const metadataCheck = compileFastCheck(EventMetadataSchema);

/**
 * Decodes a recorded event: known type, valid metadata, not from a future schema version,
 * upcast to the current version, payload valid. Never throws: replay reports anomalies.
 *
 * Metadata and payload first go through a {@link compileFastCheck} predicate derived from their
 * schema: when it vouches for them (valid, and already exactly what zod would return) they
 * are used as read, so a healthy event costs no zod parse and no copies; anything else goes
 * through zod, which alone shapes outputs and error messages. Decoded events may therefore
 * share objects with the recorded event: neither is ever mutated.
 */
export function decodeEvent(recorded: RecordedEvent): DecodeResult {
  const entry = CATALOGUE[recorded.type];
  if (!entry) {
    return { ok: false, error: new EngineError(ErrorCode.UNKNOWN_EVENT_TYPE, `Unknown event type ${quote(recorded.type)}`, { details: whereOf(recorded) }) };
  }
  let metadata: EventMetadata;
  if (metadataCheck !== null && metadataCheck(recorded.metadata)) {
    metadata = recorded.metadata as EventMetadata;
  } else {
    const meta = EventMetadataSchema.safeParse(recorded.metadata);
    if (!meta.success) {
      return { ok: false, error: new EngineError(ErrorCode.INVALID_EVENT_PAYLOAD, `Invalid metadata on ${quote(recorded.type)}`, { details: { ...whereOf(recorded), issues: meta.error.issues.map((i) => i.path.join('.')) } }) };
    }
    metadata = meta.data;
  }
  let version = metadata.schemaVersion;
  if (version > entry.version) {
    return { ok: false, error: new EngineError(ErrorCode.FUTURE_SCHEMA_VERSION, `${recorded.type} v${version} is newer than this engine knows (v${entry.version})`, { details: whereOf(recorded) }) };
  }
  let data = recorded.data as Record<string, unknown>;
  try {
    while (version < entry.version) {
      const up = entry.upcasters[version];
      if (!up) throw new Error(`no upcaster from v${version}`);
      data = up(data);
      version += 1;
    }
  } catch (cause) {
    return { ok: false, error: new EngineError(ErrorCode.INVALID_EVENT_PAYLOAD, `Cannot upcast ${recorded.type}`, { cause, details: whereOf(recorded) }) };
  }
  const check = fastCheckOf(entry);
  if (check === null || !check(data)) {
    const parsed = entry.schema.safeParse(data);
    if (!parsed.success) {
      return { ok: false, error: new EngineError(ErrorCode.INVALID_EVENT_PAYLOAD, `Invalid ${recorded.type} payload`, { details: { ...whereOf(recorded), issues: parsed.error.issues.map((i) => i.path.join('.')) } }) };
    }
    data = parsed.data as Record<string, unknown>;
  }
  return {
    ok: true,
    event: {
      type: recorded.type,
      data,
      // Upcasting moved the version: a copy, never an edit of the stored event's metadata.
      metadata: version === metadata.schemaVersion ? metadata : { ...metadata, schemaVersion: version },
      streamId: recorded.streamId,
      revision: recorded.revision,
      id: recorded.id,
    },
  };
}

/** Decodes or throws; for command handling, where an undecodable stream is a hard error. */
export function decodeOrThrow(recorded: RecordedEvent): DomainEvent {
  const r = decodeEvent(recorded);
  if (!r.ok) throw r.error;
  return r.event;
}

export function currentSchemaVersion(type: string): number {
  const entry = CATALOGUE[type];
  if (!entry) throw new EngineError(ErrorCode.UNKNOWN_EVENT_TYPE, `Unknown event type ${quote(type)}`);
  return entry.version;
}

/**
 * Validates a payload about to be appended against the current schema (writers' guard). A
 * payload the schema's {@link compileFastCheck} vouches for is returned as given (zod would
 * return an identical copy): every command builds at least one event, and a zod parse of a
 * `FlowInitiated` was a visible share of starting a flow. Callers never mutate a payload
 * after handing it over.
 */
export function validateNewEvent(type: string, data: unknown): Record<string, unknown> {
  const entry = CATALOGUE[type];
  if (!entry) throw new EngineError(ErrorCode.UNKNOWN_EVENT_TYPE, `Unknown event type ${quote(type)}`);
  const check = fastCheckOf(entry);
  if (check !== null && check(data)) return data as Record<string, unknown>;
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    throw new EngineError(ErrorCode.INVALID_EVENT_PAYLOAD, `Invalid ${type} payload`, { details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } });
  }
  return parsed.data as Record<string, unknown>;
}
