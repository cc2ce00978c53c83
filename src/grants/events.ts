import { z } from 'zod';
import { SealedSchema } from '../flow/sealed.js';
import { OAUTH_ERROR_CODE } from '../oauth/oauthErrorCode.js';

const iso = z.iso.datetime();
const oauthErrorCode = z.string().regex(OAUTH_ERROR_CODE);

/**
 * Events of one grant stream (`grant-<userKey>`): the tokens a (user, MCP server) holds.
 * Tokens are always sealed, with the grant's own data key (`dk` in the envelope) so that
 * destroying that key shreds them (see `src/grants/grantSealer.ts`).
 *
 * Only token-lifecycle events live here: every refresh claim is an append at the revision
 * read, so anything else appended to this stream would make a refresh winner lose its slot.
 * What the MCP server said about the tokens lives on `mcpconn-<userKey>` instead
 * ({@link McpConnectionEventSchemas}).
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
    tokenExpiresAt: iso.optional(),
    scope: z.string().optional(),
    hasRefreshToken: z.boolean(),
  }),
  /**
   * The refresh claim (RFC 9700 §4.14: a rotating refresh token may be presented once): the
   * replica whose append at the revision read succeeds is the only one that calls the AS.
   * A claim past `claimExpiresAt` without an outcome may be taken over.
   */
  RefreshStarted: z.object({
    refreshId: z.string().min(1),
    claimExpiresAt: iso,
  }),
  /** RFC 6749 §6 outcome: the new token set, sealed; `rotated` = a new refresh token came back. */
  TokensRefreshed: z.object({
    refreshId: z.string().min(1),
    tokens: SealedSchema,
    rotated: z.boolean(),
    tokenExpiresAt: iso.optional(),
    scope: z.string().optional(),
    hasRefreshToken: z.boolean(),
  }),
  /**
   * A refresh that did not produce tokens, classified by the RFC 6749 §5.2 code:
   * `invalid_grant` and client rejections are final (`retryable: false`) until a new
   * `TokensIssued`; network errors and 5xx are retryable.
   */
  RefreshFailed: z.object({
    refreshId: z.string().min(1),
    oauthError: oauthErrorCode.optional(),
    reason: z.string().min(1).max(64),
    retryable: z.boolean(),
    status: z.number().int().optional(),
  }),
  /** Disconnect: tokens revoked at the AS where it offers RFC 7009, data key destroyed. */
  GrantRevoked: z.object({
    reason: z.string().min(1).max(64),
    /** Per token: `revoked` (AS said 200), `unsupported` (no endpoint), `failed`, `absent`. */
    revokedAtAs: z.object({
      access: z.enum(['revoked', 'unsupported', 'failed', 'absent']),
      refresh: z.enum(['revoked', 'unsupported', 'failed', 'absent']),
    }),
    /** The data keys destroyed with the grant (ids only). */
    shreddedKeys: z.array(z.string()).optional(),
  }),
} as const;

/**
 * Events of `mcpconn-<userKey>`: what the MCP server made of the grant (connection checked,
 * tools listed, step-up asked for). Kept apart from the grant stream on purpose (see above).
 */
export const McpConnectionEventSchemas = {
  ToolsListed: z.object({
    serverName: z.string().min(1),
    transport: z.enum(['streamable-http', 'sse']),
    tools: z.array(z.object({ name: z.string().min(1).max(256), description: z.string().max(2000).optional() })).max(1000),
    at: iso,
  }),
  McpConnectionFailed: z.object({
    serverName: z.string().min(1),
    reason: z.string().min(1).max(64),
    status: z.number().int().optional(),
  }),
  /** A 403 `insufficient_scope` asked for more scope; counted per scope set for the retry cap. */
  StepUpRequested: z.object({
    serverName: z.string().min(1),
    scope: z.string().min(1).max(2000),
    challengedScope: z.string().max(2000),
    attempt: z.number().int().positive(),
    flowId: z.string().optional(),
  }),
} as const;

export type GrantEventType = keyof typeof GrantEventSchemas;
export type GrantEventData<T extends GrantEventType> = z.infer<(typeof GrantEventSchemas)[T]>;
export type McpConnectionEventType = keyof typeof McpConnectionEventSchemas;
export type McpConnectionEventData<T extends McpConnectionEventType> = z.infer<(typeof McpConnectionEventSchemas)[T]>;
