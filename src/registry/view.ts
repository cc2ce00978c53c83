import type { McpServerConfig } from '../oauth/types.js';
import type { Access } from './access.js';
import type { ShareLevel } from './events.js';
import type { ServerState } from './fold.js';
import type { ProjectedServer } from './projectionState.js';

/** What answers carry instead of a secret: header values and the client secret. */
export const REDACTED = '[redacted]';

/** A server as the routes answer it: `{ serverName, ...config }` with secrets redacted. */
export interface ServerView {
  serverName: string;
  title: string;
  description?: string;
  url: string;
  headers?: Record<string, string>;
  oauth?: Record<string, unknown>;
  /** `config`: from MCP_SERVERS, read-only; `user`: managed through these routes. */
  source: 'config' | 'user';
  /** The caller's relation to it. */
  access: Access;
  createdAt?: string;
  updatedAt?: string;
  /** Owner and admins only. */
  ownerId?: string;
  sharedWith?: Array<{ userId: string; level: ShareLevel }>;
}

const redactHeaders = (names: readonly string[]): Record<string, string> | undefined =>
  names.length ? Object.fromEntries(names.map((n) => [n, REDACTED])) : undefined;

function redactOAuth(oauth: Record<string, unknown> | undefined, hasSecret: boolean): Record<string, unknown> | undefined {
  if (!oauth) return undefined;
  const { client_secret: _secret, hasClientSecret: _flag, ...rest } = oauth;
  return hasSecret ? { ...rest, client_secret: REDACTED } : rest;
}

function ownership(s: { ownerId: string; shares: Record<string, ShareLevel> }, access: Access): Pick<ServerView, 'ownerId' | 'sharedWith'> {
  if (access !== 'owner' && access !== 'admin') return {};
  return { ownerId: s.ownerId, sharedWith: Object.entries(s.shares).sort(([a], [b]) => (a < b ? -1 : 1)).map(([userId, level]) => ({ userId, level })) };
}

/** A configured server: its name is its title. */
export function configView(serverName: string, c: McpServerConfig): ServerView {
  const headers = redactHeaders(Object.keys(c.headers ?? {}));
  const oauth = redactOAuth(c.oauth as Record<string, unknown> | undefined, Boolean(c.oauth?.client_secret));
  return { serverName, title: serverName, url: c.url, ...(headers ? { headers } : {}), ...(oauth ? { oauth } : {}), source: 'config', access: 'config' };
}

/** The fields both sources of a user-managed server provide, secrets already reduced to names and flags. */
interface UserServerFields {
  serverName: string;
  title: string;
  description?: string | undefined;
  url: string;
  headerNames: readonly string[];
  oauth: Record<string, unknown> | undefined;
  hasClientSecret: boolean;
  createdAt: string;
  updatedAt: string;
  ownerId: string;
  shares: Record<string, ShareLevel>;
}

function userView(f: UserServerFields, access: Access): ServerView {
  const headers = redactHeaders(f.headerNames);
  const oauth = redactOAuth(f.oauth, f.hasClientSecret);
  return {
    serverName: f.serverName,
    title: f.title,
    ...(f.description !== undefined ? { description: f.description } : {}),
    url: f.url,
    ...(headers ? { headers } : {}),
    ...(oauth ? { oauth } : {}),
    source: 'user',
    access,
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    ...ownership(f, access),
  };
}

/** A user-managed server from its stream. */
export function stateView(s: ServerState, access: Access): ServerView {
  return userView({
    ...s,
    headerNames: Object.keys(s.headers ?? {}),
    oauth: s.oauth as Record<string, unknown> | undefined,
    hasClientSecret: Boolean(s.oauth?.client_secret),
  }, access);
}

/** A user-managed server from the `servers` projection (the list). */
export function projectedView(p: ProjectedServer, access: Access): ServerView {
  return userView({
    ...p,
    description: p.description ?? undefined,
    oauth: p.oauth ?? undefined,
    hasClientSecret: p.oauth?.hasClientSecret ?? false,
  }, access);
}
