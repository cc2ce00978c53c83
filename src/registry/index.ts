export { createServerRegistry, type ServerRegistry, type ServerRegistryOptions, type RegistryCommand, type ListQuery, type AuthValues, type ServersReader } from './registry.js';
export { RegistryEventSchemas, serverStream, serverNameStream, type ShareLevel } from './events.js';
export { parseCreateBody, parsePatchBody, LIMITS, type ServerInput, type ServerPatch } from './validate.js';
export { REDACTED, type ServerView } from './view.js';
export type { Actor, Access } from './access.js';
export { SERVERS_PROJECTION } from './projectionState.js';
