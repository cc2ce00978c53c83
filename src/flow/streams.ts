import type { Random } from '../clock.js';
import { sha256Of } from '../crypto/digest.js';

/**
 * Stream ids are `<category>-<id>` so EventStoreDB's `$by_category` works (the category is
 * the part before the first `-`). Keys derived from user ids and URLs are hashed: stream names
 * stay short, safe and free of personal data; the events themselves carry the readable values.
 */
const key = (...parts: string[]): string => sha256Of(JSON.stringify(parts), 'hex').slice(0, 32);

/**
 * The (user, server) keys hashed lately: one request derives the same key for its connection
 * stream, grant stream, data-key id and token AAD. Bounded; cleared when full (a miss only
 * costs the hash again).
 */
const recentUserServerKeys = new Map<string, string>();
const RECENT_KEYS_MAX = 4096;

export const FLOW_CATEGORY = 'flow';
export const CONNECTION_CATEGORY = 'connection';
export const CLIENT_CATEGORY = 'client';
export const GRANT_CATEGORY = 'grant';

export const flowStream = (flowId: string): string => `${FLOW_CATEGORY}-${flowId}`;

/** Width of {@link timeKey}: Unix milliseconds in base 36 fit 9 digits until the year 5188. */
const TIME_KEY_DIGITS = 9;

/**
 * A moment as 9 base-36 digits of Unix milliseconds: ids that start with it sort by creation,
 * so rows keyed by them are inserted at the right end of their index (one page dirtied for many
 * rows, instead of a random page each).
 */
export const timeKey = (now: Date): string => now.getTime().toString(36).padStart(TIME_KEY_DIGITS, '0');

/**
 * A new flow's id: its start in Unix milliseconds (base 36, fixed width, so ids sort by start)
 * then 128 random bits. The store indexes streams by id, and a random id put each new flow's
 * three commits (initiated, exchange, completion) on three random index pages; sorted, the
 * flows in flight share the pages at the index's end: 5.3 WAL pages a flow under bench/http
 * instead of 7.7. The random part alone makes it unguessable. The time part tells when the flow
 * started, to the millisecond by the engine's clock: the id is in the OAuth `state`, so the
 * authorization server, the browser's history and a Referer header see it, and it tells them
 * no more than the moment the user was sent there.
 */
export const newFlowId = (now: Date, random: Random): string => timeKey(now) + random.token(16);

/** One per (user, MCP server). */
export function userServerKey(userId: string, serverName: string): string {
  // JSON of the pair is unambiguous for any two strings, as the hashed form already relies on.
  const id = JSON.stringify([userId, serverName]);
  let k = recentUserServerKeys.get(id);
  if (k === undefined) {
    k = key('user-server', userId, serverName);
    if (recentUserServerKeys.size >= RECENT_KEYS_MAX) recentUserServerKeys.clear();
    recentUserServerKeys.set(id, k);
  }
  return k;
}
export const connectionStream = (userId: string, serverName: string): string => `${CONNECTION_CATEGORY}-${userServerKey(userId, serverName)}`;
export const grantStream = (userId: string, serverName: string): string => `${GRANT_CATEGORY}-${userServerKey(userId, serverName)}`;

/**
 * One registration per (MCP server, issuer, redirect_uri). The issuer is normalised by
 * dropping a trailing slash only: RFC 8414 issuers compare as exact strings otherwise.
 */
export const registrationKey = (serverName: string, issuer: string, redirectUri: string): string =>
  key('registration', serverName, issuer.replace(/\/+$/, ''), redirectUri);
export const clientStream = (regKey: string): string => `${CLIENT_CATEGORY}-${regKey}`;

export const categoryOf = (streamId: string): string => {
  const i = streamId.indexOf('-');
  return i < 0 ? streamId : streamId.slice(0, i);
};
