import { z } from 'zod';
import { SealedSchema } from '../flow/sealed.js';

/**
 * Events of one grant stream (`grant-<userKey>`): the tokens a (user, MCP server) holds.
 * Tokens are always sealed.
 */
export const GrantEventSchemas = {
  TokensIssued: z.object({
    flowId: z.string().min(1),
    userId: z.string().min(1),
    serverName: z.string().min(1),
    issuer: z.string().min(1),
    clientId: z.string().min(1),
    registrationKey: z.string().optional(),
    /** Sealed JSON of the token set (access, refresh, id token). */
    tokens: SealedSchema,
    tokenExpiresAt: z.iso.datetime().optional(),
    scope: z.string().optional(),
    hasRefreshToken: z.boolean(),
  }),
} as const;

export type GrantEventType = keyof typeof GrantEventSchemas;
export type GrantEventData<T extends GrantEventType> = z.infer<(typeof GrantEventSchemas)[T]>;
