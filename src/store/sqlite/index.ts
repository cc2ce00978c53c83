export { openSqliteEventStore, SqliteEventStore, type SqliteSettings } from './sqliteEventStore.js';
export {
  parseSqliteConnectionString,
  DEFAULT_POLL_INTERVAL_MS,
  type SqliteStoreOptions,
  type SynchronousMode,
} from './sqliteOptions.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from './migrations.js';
