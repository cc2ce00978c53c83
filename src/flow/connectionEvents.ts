import { z } from 'zod';
import { SealedSchema } from './sealed.js';

/**
 * Events of one connection stream (`connection-<userKey>`), one per (user, MCP server). It
 * says which attempt is current. Appending `ConnectionAttemptStarted` at the revision read is
 * the claim that makes concurrent starts on any number of replicas converge on one flow id.
 */
export const ConnectionEventSchemas = {
  ConnectionAttemptStarted: z.object({
    flowId: z.string().min(1),
    userId: z.string().min(1),
    serverName: z.string().min(1),
    expiresAt: z.iso.datetime(),
    /** Sealed authorization URL, so that joiners get the same URL without a second read. */
    authorizationUrl: SealedSchema,
    supersedes: z.string().optional(),
  }),
} as const;

export type ConnectionEventType = keyof typeof ConnectionEventSchemas;
export type ConnectionEventData<T extends ConnectionEventType> = z.infer<(typeof ConnectionEventSchemas)[T]>;
