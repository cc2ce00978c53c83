import type { EventData } from '../store/types.js';
import { currentSchemaVersion, validateNewEvent } from './catalogue.js';
import { MACHINE_VERSION } from './machine.js';
import type { EventMetadata } from './metadata.js';

/** Who and when: stamped into every event's metadata by the command that decides it. */
export interface CommandContext {
  now: Date;
  correlationId: string;
  actor: string;
  causationId?: string;
}

/** Builds an event to append: payload validated against the current schema, metadata stamped. */
export function newEvent(type: string, data: unknown, ctx: CommandContext): EventData<string, Record<string, unknown>, EventMetadata> {
  const metadata: EventMetadata = {
    at: ctx.now.toISOString(),
    schemaVersion: currentSchemaVersion(type),
    machineVersion: MACHINE_VERSION,
    correlationId: ctx.correlationId,
    actor: ctx.actor,
    ...(ctx.causationId ? { causationId: ctx.causationId } : {}),
  };
  return { type, data: validateNewEvent(type, data), metadata };
}
