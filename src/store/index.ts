export * from './types.js';
export { WrongExpectedVersionError, StreamNotFoundError, isWrongExpectedVersion } from './errors.js';
export { openEventStore, DEFAULT_EVENT_STORE, type OpenEventStoreOptions } from './openEventStore.js';
