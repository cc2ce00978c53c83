import type { ShareLevel } from './events.js';

/** Who is asking: the HTTP layer's principal. */
export interface Actor {
  userId: string;
  role?: 'admin';
}

/** How an actor relates to a server. `config`: a configured server, read-only for everyone. */
export type Access = 'owner' | 'admin' | ShareLevel | 'config';

/** What each relation may do, after the reference's permission bits (view, edit, delete, share). */
export type Action = 'view' | 'edit' | 'delete' | 'share';

const ALLOWED: Record<Access, ReadonlySet<Action>> = {
  owner: new Set(['view', 'edit', 'delete', 'share']),
  admin: new Set(['view', 'edit', 'delete', 'share']),
  edit: new Set(['view', 'edit']),
  view: new Set(['view']),
  config: new Set(['view']),
};

/** The actor's relation to a user-managed server, or null when it may not even know it exists. */
export function accessOf(server: { ownerId: string; shares: Record<string, ShareLevel>; removed?: boolean }, actor: Actor): Access | null {
  if (server.removed) return null;
  if (server.ownerId === actor.userId) return 'owner';
  const shared = Object.hasOwn(server.shares, actor.userId) ? server.shares[actor.userId] : undefined;
  if (actor.role === 'admin') return 'admin';
  return shared ?? null;
}

export function can(access: Access | null, action: Action): boolean {
  return access !== null && ALLOWED[access].has(action);
}
