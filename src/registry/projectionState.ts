import type { ShareLevel } from './events.js';

/** Name of the projection file `projections/servers.js`. */
export const SERVERS_PROJECTION = 'servers';

/** One server in the `servers` projection (mirrors `projections/servers.js`). */
export interface ProjectedServer {
  serverId: string;
  serverName: string;
  ownerId: string;
  title: string;
  description: string | null;
  url: string;
  headerNames: string[];
  oauth: (Record<string, unknown> & { hasClientSecret: boolean }) | null;
  shares: Record<string, ShareLevel>;
  /** Per user key: the user's current attempt and whether a grant is live. */
  users: Record<string, { userId: string; flowId: string | null; grant: boolean }>;
  /** Client registration keys made for this server. */
  registrations: Record<string, true>;
  createdAt: string;
  updatedAt: string;
}

/** The whole `servers` state. */
export interface ServersState {
  servers: Record<string, ProjectedServer>;
  streams: Record<string, string>;
  userKeys: Record<string, string>;
}
