export * from './types.js';
export { createMemoryProjectionState } from './memoryProjectionState.js';
export { openSqliteProjectionState } from './sqliteProjectionState.js';
export { openProjectionState, projectionStatePath } from './openProjectionState.js';
