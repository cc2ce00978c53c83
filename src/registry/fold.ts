import type { DomainEvent } from '../flow/catalogue.js';
import type { RecordedHeaders, RecordedOAuth, RegistryEventData, ShareLevel } from './events.js';

/** One user-managed server, folded from its `server-<id>` stream. */
export interface ServerState {
  serverId: string;
  serverName: string;
  ownerId: string;
  title: string;
  description?: string;
  url: string;
  headers?: RecordedHeaders;
  oauth?: RecordedOAuth;
  shares: Record<string, ShareLevel>;
  removed: boolean;
  createdAt: string;
  updatedAt: string;
  /** Revision of the last event: the expected revision of the next command. */
  revision: bigint;
}

/** Folds a server stream; null when it holds no registration. */
export function foldServer(events: readonly DomainEvent[]): ServerState | null {
  let s: ServerState | null = null;
  for (const e of events) {
    const at = e.metadata.at;
    if (e.type === 'ServerRegistered') {
      const d = e.data as RegistryEventData<'ServerRegistered'>;
      s = {
        serverId: d.serverId,
        serverName: d.serverName,
        ownerId: d.ownerId,
        title: d.title,
        ...(d.description !== undefined ? { description: d.description } : {}),
        url: d.url,
        ...(d.headers ? { headers: d.headers } : {}),
        ...(d.oauth ? { oauth: d.oauth } : {}),
        shares: {},
        removed: false,
        createdAt: at,
        updatedAt: at,
        revision: e.revision,
      };
      continue;
    }
    if (!s) continue;
    s.revision = e.revision;
    s.updatedAt = at;
    switch (e.type) {
      case 'ServerUpdated': {
        const d = e.data as RegistryEventData<'ServerUpdated'>;
        if (d.title !== undefined) s.title = d.title;
        if (d.url !== undefined) s.url = d.url;
        if (d.description === null) delete s.description;
        else if (d.description !== undefined) s.description = d.description;
        if (d.headers === null) delete s.headers;
        else if (d.headers !== undefined) s.headers = d.headers;
        if (d.oauth === null) delete s.oauth;
        else if (d.oauth !== undefined) s.oauth = d.oauth;
        break;
      }
      case 'ServerShared': {
        const d = e.data as RegistryEventData<'ServerShared'>;
        s.shares = { ...s.shares, [d.userId]: d.level };
        break;
      }
      case 'ServerUnshared': {
        const { [(e.data as RegistryEventData<'ServerUnshared'>).userId]: _gone, ...rest } = s.shares;
        s.shares = rest;
        break;
      }
      case 'ServerRemoved':
        s.removed = true;
        break;
    }
  }
  return s;
}
