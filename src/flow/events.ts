import { z } from 'zod';
import { OAUTH_ERROR_CODE } from '../oauth/oauthErrorCode.js';
import { SealedSchema } from './sealed.js';

/**
 * The events of one authorization attempt (`flow-<flowId>`). Names are past tense and never
 * renamed; each payload's schema version lives in the metadata (`schemaVersion`), and
 * `src/flow/catalogue.ts` upcasts older shapes on read.
 */

const iso = z.iso.datetime();
const hash = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256 digest');
const oauthErrorCode = z.string().regex(OAUTH_ERROR_CODE);

export const ClientRefSchema = z.object({
  clientId: z.string().min(1).max(2048),
  kind: z.enum(['preregistered', 'cimd', 'dcr']),
  tokenEndpointAuthMethod: z.string().min(1).max(64),
  /** Set for registry-managed clients (`client-<registrationKey>`). */
  registrationKey: z.string().optional(),
  /** Revision of the registration stream's `ClientRegistered` event. */
  registrationRevision: z.string().optional(),
  clientSecret: SealedSchema.optional(),
});
export type ClientRef = z.infer<typeof ClientRefSchema>;

export const DiscoverySnapshotSchema = z.object({
  resource: z.string().optional(),
  issuer: z.string().min(1),
  authorizationEndpoint: z.string().min(1),
  tokenEndpoint: z.string().min(1),
  registrationEndpoint: z.string().optional(),
  revocationEndpoint: z.string().optional(),
  issParameterSupported: z.boolean(),
  clientIdMetadataDocumentSupported: z.boolean(),
  tokenEndpointAuthMethodsSupported: z.array(z.string()).optional(),
  grantTypesSupported: z.array(z.string()).optional(),
  scope: z.string().optional(),
});

export const FlowEventSchemas = {
  FlowInitiated: z.object({
    flowId: z.string().min(1),
    userId: z.string().min(1),
    serverName: z.string().min(1),
    serverUrl: z.string().min(1),
    redirectUri: z.string().min(1),
    discovery: DiscoverySnapshotSchema,
    scope: z.string().optional(),
    client: ClientRefSchema,
    expiresAt: iso,
    /** SHA-256 of the `state` parameter; the state itself is never stored in plaintext. */
    stateHash: hash,
    /** SHA-256 of the browser-binding secret set as an HttpOnly cookie. */
    bindingHash: hash,
    codeVerifier: SealedSchema,
    /** The full authorization URL (it carries `state`), sealed for joiners. */
    authorizationUrl: SealedSchema,
  }),
  ClientReused: z.object({
    registrationKey: z.string().min(1),
    registrationRevision: z.string(),
    clientId: z.string().min(1),
  }),
  BrowserBound: z.object({ bindingHash: hash }),
  CallbackErrored: z.object({
    error: oauthErrorCode,
    errorDescription: z.string().max(500).optional(),
  }),
  CodeExchangeStarted: z.object({ exchangeId: z.string().min(1), codeHash: hash }),
  FlowCompleted: z.object({
    exchangeId: z.string().min(1),
    grantRevision: z.string(),
    scope: z.string().optional(),
    tokenExpiresAt: iso.optional(),
  }),
  ClientRejected: z.object({
    exchangeId: z.string().min(1),
    oauthError: oauthErrorCode,
    clientId: z.string().min(1),
    registrationKey: z.string().optional(),
    reused: z.boolean(),
    status: z.number().int().optional(),
  }),
  FlowFailed: z.object({
    reason: z.string().min(1).max(64),
    oauthError: oauthErrorCode.optional(),
    exchangeId: z.string().optional(),
  }),
  FlowCancelled: z.object({ reason: z.string().max(200).optional() }),
  FlowExpired: z.object({ expiresAt: iso }),
  FlowSuperseded: z.object({ by: z.string().min(1) }),
} as const;

export type FlowEventType = keyof typeof FlowEventSchemas;
export type FlowEventData<T extends FlowEventType> = z.infer<(typeof FlowEventSchemas)[T]>;
export const FLOW_EVENT_TYPES = Object.keys(FlowEventSchemas) as FlowEventType[];
