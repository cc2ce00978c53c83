export { openSqliteDataKeyStore } from './sqliteDataKeyStore.js';
export { openDataKeyStore, type ClosableDataKeyStore } from './openDataKeyStore.js';
