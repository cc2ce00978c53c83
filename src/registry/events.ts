import { z } from 'zod';
import { SealedSchema } from '../flow/sealed.js';

/** Stream of one user-managed server: `server-<serverId>` (random id, never the display name). */
export const SERVER_CATEGORY = 'server';
/** Name claims: `servername-<serverName>`, appended with `no_stream` so a name has one owner. */
export const SERVER_NAME_CATEGORY = 'servername';

export const serverStream = (serverId: string): string => `${SERVER_CATEGORY}-${serverId}`;
export const serverNameStream = (serverName: string): string => `${SERVER_NAME_CATEGORY}-${serverName}`;

const level = z.enum(['view', 'edit']);

/** OAuth options as recorded: the client secret sealed, everything else as configured. */
const RecordedOAuthSchema = z.object({
  client_id: z.string().optional(),
  client_secret: SealedSchema.optional(),
  client_metadata_url: z.string().optional(),
  scope: z.string().optional(),
  resource: z.union([z.boolean(), z.string()]).optional(),
  authorization_url: z.string().optional(),
  token_url: z.string().optional(),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post']).optional(),
});
export type RecordedOAuth = z.infer<typeof RecordedOAuthSchema>;

/** Header values are all sealed: which ones are secret cannot be told reliably from the name. */
const RecordedHeadersSchema = z.record(z.string(), SealedSchema);
export type RecordedHeaders = z.infer<typeof RecordedHeadersSchema>;

/**
 * Events of the server registry. Header values and the OAuth client secret are sealed (AAD =
 * stream + field), so no Authorization header or API key is ever plaintext in the log.
 */
export const RegistryEventSchemas = {
  /** The claim on a server name (`servername-<name>`); names are never reused, even after removal. */
  ServerNameClaimed: z.object({
    serverName: z.string().min(1).max(64),
    serverId: z.string().min(1),
  }),
  ServerRegistered: z.object({
    serverId: z.string().min(1),
    serverName: z.string().min(1).max(64),
    ownerId: z.string().min(1),
    title: z.string().min(1),
    description: z.string().optional(),
    url: z.string().min(1),
    headers: RecordedHeadersSchema.optional(),
    oauth: RecordedOAuthSchema.optional(),
  }),
  /** Only the fields that changed; `null` removes an optional field. Headers and oauth are replaced whole. */
  ServerUpdated: z.object({
    title: z.string().min(1).optional(),
    description: z.string().nullable().optional(),
    url: z.string().min(1).optional(),
    headers: RecordedHeadersSchema.nullable().optional(),
    oauth: RecordedOAuthSchema.nullable().optional(),
  }),
  ServerRemoved: z.object({
    serverName: z.string().min(1),
    /** Users whose grants were revoked before the removal. */
    revokedGrants: z.number().int().nonnegative(),
  }),
  ServerShared: z.object({ userId: z.string().min(1), level }),
  ServerUnshared: z.object({ userId: z.string().min(1) }),
} as const;

export type RegistryEventType = keyof typeof RegistryEventSchemas;
export type RegistryEventData<T extends RegistryEventType> = z.infer<(typeof RegistryEventSchemas)[T]>;
export type ShareLevel = z.infer<typeof level>;
