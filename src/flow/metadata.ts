import { z } from 'zod';

/**
 * Metadata every event carries. Time and identity come in here (never from a clock inside
 * the machine), so a replay years later folds to the same states.
 */
export const EventMetadataSchema = z.object({
  /** ISO-8601 time the decision was taken (from the injected clock). */
  at: z.iso.datetime(),
  /** Version of the event's data schema; older versions are upcast on read. */
  schemaVersion: z.number().int().positive(),
  /** Version of the flow machine that produced the event (see `MACHINE_VERSION`). */
  machineVersion: z.number().int().positive(),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().max(200).optional(),
  /** The user id that caused it, or `system` for workers. */
  actor: z.string().min(1).max(500),
});
export type EventMetadata = z.infer<typeof EventMetadataSchema>;

export const SYSTEM_ACTOR = 'system';
