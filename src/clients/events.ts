import { z } from 'zod';
import { SealedSchema } from '../flow/sealed.js';

/**
 * Events of one client registration stream (`client-<registrationKey>`), one per
 * (MCP server, issuer, redirect_uri). The first `ClientRegistrationStarted` appended at the
 * expected revision is the claim: whoever wins it makes the one registration request, every
 * other attempt on any replica waits for `ClientRegistered` and reuses it.
 */
export const ClientEventSchemas = {
  ClientRegistrationStarted: z.object({
    claimId: z.string().min(1),
    serverName: z.string().min(1),
    issuer: z.string().min(1),
    redirectUri: z.string().min(1),
    /** After this time a claim with no outcome is considered abandoned (crashed claimant). */
    claimExpiresAt: z.iso.datetime(),
  }),
  ClientRegistered: z.object({
    claimId: z.string().min(1),
    clientId: z.string().min(1).max(2048),
    kind: z.enum(['preregistered', 'cimd', 'dcr']),
    tokenEndpointAuthMethod: z.string().min(1),
    redirectUris: z.array(z.string()),
    issuer: z.string().min(1),
    clientSecret: SealedSchema.optional(),
    clientSecretExpiresAt: z.number().optional(),
  }),
  ClientRegistrationFailed: z.object({
    claimId: z.string().min(1),
    reason: z.string().min(1).max(64),
    oauthError: z.string().max(64).optional(),
  }),
  ClientRegistrationDiscarded: z.object({
    clientId: z.string().min(1),
    reason: z.enum(['client_rejected', 'stale', 'server_changed']),
    flowId: z.string().optional(),
  }),
} as const;

export type ClientEventType = keyof typeof ClientEventSchemas;
export type ClientEventData<T extends ClientEventType> = z.infer<(typeof ClientEventSchemas)[T]>;
