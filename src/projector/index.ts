export { startProjector, type Projector, type ProjectionInfo, type ProjectionProgressInfo, type StartProjectorOptions } from './projector.js';
export { startProjectorThread, startServeProjector, type StartProjectorThreadOptions, type ThreadedProjector } from './projectorThread.js';
export { loadProjectionFiles, DEFAULT_PROJECTIONS_DIR } from './loadProjections.js';
export type { ProjectionSource } from './projectionRuntime.js';
export type { ProjectionReader } from './reader.js';
export { projectionQueries, type ProjectionQueriesOptions } from './queries.js';
export { startExpiryWorker, startStaleClientWorker, type Worker, type ExpiryWorkerOptions, type StaleClientWorkerOptions } from './workers/index.js';
export * from './projectionStates.js';
