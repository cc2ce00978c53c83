import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isHttpsUrl } from '@modelcontextprotocol/sdk/client/auth.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EngineError, ErrorCode, quote } from './errors.js';
import { issueMessage } from './issueMessage.js';
import type { McpServerConfig } from './oauth/types.js';

/**
 * The engine's configuration, validated once at start-up. Every failure names the
 * environment key (or the `MCP_SERVERS` file path inside it) that is wrong.
 *
 * @see architecture.md §7 (the configuration contract)
 */
export interface EngineConfig {
  port: number;
  host: string;
  /** Base of redirect URIs and landing pages, without a trailing slash. */
  publicUrl: string;
  eventStore: string;
  jwtSecret: string | undefined;
  /** base64 of 32 bytes; undefined means "generate a development key in the data folder". */
  encryptionKey: string | undefined;
  /** Older keys still accepted for opening sealed values (`ENCRYPTION_KEYS_OLD`, comma-separated). */
  oldEncryptionKeys: string[];
  mcpServersPath: string | undefined;
  servers: Record<string, McpServerConfig>;
  allowedDomains: string[];
  /** How long an attempt stays pending (`FLOW_TTL_SECONDS`, default 600). */
  flowTtlMs: number;
  dataDir: string;
  logLevel: string;
}

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.~-]{0,63}$/;

/**
 * A Client ID Metadata Document's URL is the client id, which the draft requires to have a
 * path. `clientRoute` refuses a root one with this same test (the SDK's `isHttpsUrl`), but
 * only once a flow starts, as a 502 on every attempt; refused here it is a 400 from the
 * registry and a start-up error naming the key for `MCP_SERVERS`.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
const ClientMetadataUrlSchema = z.url({ protocol: /^https$/ }).refine(isHttpsUrl, 'must have a path (a Client ID Metadata Document URL is not a bare origin)');

const OAuthSchema = z.strictObject({
  client_id: z.string().min(1).max(2048).optional(),
  client_secret: z.string().min(1).max(4096).optional(),
  client_metadata_url: ClientMetadataUrlSchema.optional(),
  scope: z.string().max(2048).optional(),
  resource: z.union([z.boolean(), z.url()]).optional(),
  authorization_url: z.url({ protocol: /^https?$/ }).optional(),
  token_url: z.url({ protocol: /^https?$/ }).optional(),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post']).optional(),
});

export const ServerConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/), z.string().max(8192)).optional(),
  oauth: OAuthSchema.optional(),
});

function fail(key: string, message: string, cause?: unknown): never {
  throw new EngineError(ErrorCode.CONFIG_INVALID, `${key}: ${message}`, { cause, details: { key } });
}

function intIn(env: NodeJS.ProcessEnv, key: string, def: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(key, `must be an integer from ${min} to ${max}, got ${quote(raw)}`);
  return n;
}

/** Parses the `MCP_SERVERS` file (JSON or YAML). */
export function parseServersFile(text: string, where = 'MCP_SERVERS'): Record<string, McpServerConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON
  } catch (cause) {
    fail(where, 'is neither valid JSON nor YAML', cause);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(where, 'must map server names to server objects');
  const out: Record<string, McpServerConfig> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!SERVER_NAME.test(name)) fail(`${where}.${name}`, 'server names are 1-64 characters of letters, digits, _ . ~ -');
    const parsed = ServerConfigSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      fail(`${where}.${name}.${issue.path.join('.')}`, issueMessage(issue));
    }
    const oauth = parsed.data.oauth;
    if (oauth && (oauth.authorization_url === undefined) !== (oauth.token_url === undefined)) {
      fail(`${where}.${name}.oauth`, 'authorization_url and token_url go together');
    }
    if (oauth?.client_secret && !oauth.client_id) fail(`${where}.${name}.oauth.client_secret`, 'needs client_id');
    out[name] = parsed.data as McpServerConfig;
  }
  return out;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** Reads and validates the environment. Throws `config_invalid` naming the key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const port = intIn(env, 'PORT', 3080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const publicUrlRaw = env.PUBLIC_URL || `http://localhost:${port}`;
  let publicUrl: URL;
  try {
    publicUrl = new URL(publicUrlRaw);
  } catch (cause) {
    fail('PUBLIC_URL', `is not a URL: ${quote(publicUrlRaw)}`, cause);
  }
  if (publicUrl.protocol !== 'https:' && !(publicUrl.protocol === 'http:' && isLoopbackHost(publicUrl.hostname))) {
    fail('PUBLIC_URL', 'must be https (plain http only for loopback hosts)');
  }
  if (publicUrl.search || publicUrl.hash) fail('PUBLIC_URL', 'must not have a query or fragment');

  const eventStore = env.EVENT_STORE || 'sqlite:./data/events.db';
  if (!/^(sqlite:|esdb:\/\/|esdb\+discover:\/\/|kurrentdb:\/\/|kurrentdb\+discover:\/\/)/.test(eventStore)) {
    fail('EVENT_STORE', 'must start with sqlite:, esdb://, esdb+discover:// or kurrentdb://');
  }

  const jwtSecret = env.JWT_SECRET || undefined;
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) fail('JWT_SECRET', 'must be at least 32 bytes');

  const checkKey = (key: string, v: string): string => {
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64').replace(/=+$/, '') !== v.replace(/=+$/, '')) fail(key, 'must be base64 of exactly 32 bytes');
    return v;
  };
  const encryptionKey = env.ENCRYPTION_KEY ? checkKey('ENCRYPTION_KEY', env.ENCRYPTION_KEY) : undefined;
  const oldEncryptionKeys = (env.ENCRYPTION_KEYS_OLD ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((k) => checkKey('ENCRYPTION_KEYS_OLD', k));

  const mcpServersPath = env.MCP_SERVERS || undefined;
  let servers: Record<string, McpServerConfig> = {};
  if (mcpServersPath) {
    let text: string;
    try {
      text = readFileSync(mcpServersPath, 'utf8');
    } catch (cause) {
      fail('MCP_SERVERS', `cannot read ${quote(mcpServersPath)}`, cause);
    }
    servers = parseServersFile(text, 'MCP_SERVERS');
  }

  const allowedDomains = (env.ALLOWED_DOMAINS ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const d of allowedDomains) {
    if (!/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(d)) fail('ALLOWED_DOMAINS', `bad host ${quote(d)}`);
  }

  return {
    port,
    host,
    publicUrl: publicUrl.href.replace(/\/+$/, ''),
    eventStore,
    jwtSecret,
    encryptionKey,
    oldEncryptionKeys,
    mcpServersPath,
    servers,
    allowedDomains,
    flowTtlMs: intIn(env, 'FLOW_TTL_SECONDS', 600, 30, 86_400) * 1000,
    dataDir: env.DATA_DIR || './data',
    logLevel: env.LOG_LEVEL || 'info',
  };
}
