import { z } from 'zod';
import { ServerConfigSchema } from '../config.js';
import { EngineError, ErrorCode } from '../errors.js';
import { describeIssue } from '../issueMessage.js';
import type { ServerOAuthConfig } from '../oauth/types.js';

/** What a user may configure on a server they manage (the reference's `config` body). */
export interface ServerInput {
  title: string;
  description?: string;
  url: string;
  headers?: Record<string, string>;
  oauth?: ServerOAuthConfig;
}

/** A PATCH: given fields replace the stored ones; `null` removes an optional one. */
export interface ServerPatch {
  title?: string;
  description?: string | null;
  url?: string;
  headers?: Record<string, string> | null;
  oauth?: ServerOAuthConfig | null;
}

export const LIMITS = { title: 100, description: 1000, url: 2048, headers: 32, headerValue: 4096, headersTotal: 16_384 } as const;

/** Bidi overrides and isolates, lone surrogates, control characters: they make text lie about itself. */
const DECEPTIVE = /[\p{Cc}\p{Cs}\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/u;

const singleLine = (max: number) =>
  z.string()
    .transform((s) => s.normalize('NFC').trim())
    .pipe(z.string().min(1, 'must not be empty').max(max, `at most ${max} characters`).refine((s) => !DECEPTIVE.test(s), 'control or bidi-override characters are not allowed'));

const multiLine = (max: number) =>
  z.string()
    .transform((s) => s.normalize('NFC').trim())
    .pipe(z.string().max(max, `at most ${max} characters`).refine((s) => !DECEPTIVE.test(s.replace(/[\n\t]/g, ' ')), 'control or bidi-override characters are not allowed'));

/** RFC 9110 token characters, as `MCP_SERVERS` headers. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Framing and hop-by-hop headers belong to the transport, not to a server's configuration. */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection', 'cookie']);

const HeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const entries = Object.entries(headers);
  if (entries.length > LIMITS.headers) ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.headers} headers` });
  const seen = new Set<string>();
  let total = 0;
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'header names are RFC 9110 tokens' });
    else if (FORBIDDEN_HEADERS.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'this header is set by the transport' });
    else if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'duplicate header (names are case-insensitive)' });
    seen.add(lower);
    // CR/LF would split the request (header injection); other controls are refused alike.
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'header values must not contain CR, LF or other control characters' });
    if (value.length > LIMITS.headerValue) ctx.addIssue({ code: 'custom', path: [name], message: `header values are at most ${LIMITS.headerValue} characters` });
    total += name.length + value.length;
  }
  if (total > LIMITS.headersTotal) ctx.addIssue({ code: 'custom', message: `headers are at most ${LIMITS.headersTotal} characters in all` });
});

/** The `MCP_SERVERS` OAuth schema, so both kinds of server accept exactly the same options. */
const OAuthSchema = ServerConfigSchema.shape.oauth.unwrap();

const UrlSchema = z.string().max(LIMITS.url, `at most ${LIMITS.url} characters`).refine((s) => URL.canParse(s), 'must be an absolute URL');

const CreateSchema = z.strictObject({
  title: singleLine(LIMITS.title),
  description: multiLine(LIMITS.description).optional(),
  url: UrlSchema,
  headers: HeadersSchema.optional(),
  oauth: OAuthSchema.optional(),
});

const PatchSchema = z.strictObject({
  title: singleLine(LIMITS.title).optional(),
  description: multiLine(LIMITS.description).nullable().optional(),
  url: UrlSchema.optional(),
  headers: HeadersSchema.nullable().optional(),
  oauth: OAuthSchema.nullable().optional(),
});

const BodySchema = <T extends z.ZodType>(config: T) => z.strictObject({ config });

function invalid(message: string): never {
  throw new EngineError(ErrorCode.INVALID_SERVER_CONFIG, message);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    invalid(describeIssue(r.error.issues[0]!));
  }
  return r.data;
}

/** Same cross-field rules as `parseServersFile` applies to configured servers. */
function checkOAuth(oauth: ServerOAuthConfig | null | undefined): void {
  if (!oauth) return;
  if ((oauth.authorization_url === undefined) !== (oauth.token_url === undefined)) invalid('"config.oauth": authorization_url and token_url go together');
  if (oauth.client_secret && !oauth.client_id) invalid('"config.oauth.client_secret": needs client_id');
}

/** `{ config: { title, description?, url, headers?, oauth? } }`; unknown keys refused. */
export function parseCreateBody(body: unknown): ServerInput {
  const { config } = parse(BodySchema(CreateSchema), body);
  checkOAuth(config.oauth);
  return dropUndefined(config) as ServerInput;
}

/** `{ config: { ...some of the create fields } }`; at least one field. */
export function parsePatchBody(body: unknown): ServerPatch {
  const { config } = parse(BodySchema(PatchSchema), body);
  const patch = dropUndefined(config) as ServerPatch;
  if (Object.keys(patch).length === 0) invalid('"config": nothing to change');
  checkOAuth(patch.oauth);
  return patch;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
