/**
 * The library entry: embed the engine in a host application, or run it with `flowctl serve`.
 *
 * @example
 * ```ts
 * import { createEngine, createOAuthDriver, createSealer, openEventStore, systemClock } from 'flow-engine';
 * const store = await openEventStore('sqlite:./data/events.db');
 * const engine = createEngine({
 *   store,
 *   config: { publicUrl: 'https://chat.example', flowTtlMs: 600_000, servers },
 *   driver: createOAuthDriver({ clock: systemClock }),
 *   sealer: createSealer({ activeKey: process.env.ENCRYPTION_KEY! }),
 * });
 * ```
 */
export { EngineError, ErrorCode, isEngineError, quote } from './errors.js';
export { systemClock, systemRandom, type Clock, type Random } from './clock.js';
export { loadConfig, parseServersFile, type EngineConfig } from './config.js';
export { createEngine, type CreateEngineOptions, type Engine } from './engine.js';

export { openEventStore } from './store/openEventStore.js';
export * from './store/types.js';
export { StreamNotFoundError, WrongExpectedVersionError, isWrongExpectedVersion } from './store/errors.js';

export { flowMachine, MACHINE_VERSION, type FlowContext, type FlowStateValue } from './flow/machine.js';
export { decideFlow, type FlowCommand } from './flow/decide.js';
export { evolve, foldFlow, type FlowState } from './flow/evolve.js';
export { CATALOGUE, decodeEvent, registerSchemaVersion, type DomainEvent } from './flow/catalogue.js';
export type { FlowStatus, FlowStatusView } from './flow/status.js';
export type { ConnectionStatusView, Queries } from './flow/queries.js';
export type { Sealer, Logger, FlowObserver } from './flow/deps.js';
export type { StartedFlow, StartFlowInput } from './flow/startFlow.js';
export type { CallbackInput, CallbackOutcome } from './flow/handleCallback.js';

export { createOAuthDriver, createGuardedFetch } from './oauth/index.js';
export type { OAuthDriver, McpServerConfig, ServerOAuthConfig } from './oauth/types.js';
export { createSealer } from './crypto/sealer.js';
export { createKeyRing, loadOrCreateDevKey } from './crypto/index.js';

export { startProjector, projectionQueries, startExpiryWorker, startStaleClientWorker } from './projector/index.js';
export { getFlowHistory, replayAll, replayFlow } from './audit/index.js';
export { createApp, type AppOptions } from './http/createApp.js';
export { createMcpRouter, type McpRouterOptions } from './http/mcpRouter.js';
export { startServer } from './server.js';
