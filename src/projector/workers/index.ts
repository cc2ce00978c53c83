export { startExpiryWorker, type ExpiryWorkerOptions } from './expiryWorker.js';
export { startStaleClientWorker, type StaleClientWorkerOptions } from './staleClientWorker.js';
export type { Worker } from './periodic.js';
