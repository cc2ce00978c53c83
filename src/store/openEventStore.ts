import { EngineError, ErrorCode, quote } from '../errors.js';
import { openSqliteEventStore } from './sqlite/sqliteEventStore.js';
import { parseSqliteConnectionString, type SqliteStoreOptions } from './sqlite/sqliteOptions.js';
import type { EventStore } from './types.js';

/** The `EVENT_STORE` default (architecture section 7). */
export const DEFAULT_EVENT_STORE = 'sqlite:./data/events.db';

/** Overrides for the SQLite adapter; they win over the connection string's query options. */
export type OpenEventStoreOptions = Partial<Omit<SqliteStoreOptions, 'path'>>;

const ESDB_SCHEMES = ['esdb://', 'esdb+discover://', 'kurrentdb://', 'kurrentdb+discover://'];

interface EsdbModule {
  openEsdbStore(connectionString: string): Promise<EventStore> | EventStore;
}

/**
 * One entry point for every adapter, chosen by scheme, so configuration is a single string:
 * `sqlite:<path>` (folder created), `sqlite::memory:`, or an EventStoreDB/KurrentDB connection
 * string (https://developers.eventstore.com/clients/grpc/#connection-string). The EventStoreDB
 * client is loaded only when asked for, keeping gRPC out of embedded deployments.
 */
export async function openEventStore(
  connectionString: string = DEFAULT_EVENT_STORE,
  options: OpenEventStoreOptions = {},
): Promise<EventStore> {
  if (connectionString.startsWith('sqlite:')) {
    return openSqliteEventStore({ ...parseSqliteConnectionString(connectionString), ...definedOnly(options) });
  }
  if (ESDB_SCHEMES.some((scheme) => connectionString.startsWith(scheme))) {
    // A variable specifier: the adapter module is optional at type-check time.
    const specifier = './esdb/index.js';
    const mod = (await import(specifier)) as EsdbModule;
    return mod.openEsdbStore(connectionString);
  }
  throw new EngineError(
    ErrorCode.CONFIG_INVALID,
    `EVENT_STORE: unknown scheme in ${quote(connectionString.replace(/\/\/[^@/]*@/, '//***@'))}; expected sqlite:, esdb://, esdb+discover:// or kurrentdb://`,
  );
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
