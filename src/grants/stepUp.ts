import { EngineError, ErrorCode, quote } from '../errors.js';
import type { FlowDeps } from '../flow/deps.js';
import { newEvent } from '../flow/newEvent.js';
import { startFlow, type StartedFlow } from '../flow/startFlow.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import { grantClient } from './grantClient.js';
import type { GrantState } from './fold.js';
import { mcpConnectionStream } from './streams.js';
import type { McpConnectionState } from './fold.js';

export interface StepUpInput {
  userId: string;
  serverName: string;
  /** The `scope` of the 403 `insufficient_scope` challenge (RFC 6750 §3.1). */
  challengedScope: string;
  resourceMetadataUrl?: string;
  correlationId: string;
}

export interface StepUpOptions {
  /** Step-ups per (user, server, scope set) within `windowMs`. Default 2. */
  maxAttempts?: number;
  /** Default one hour: an old step-up does not block a new one forever. */
  windowMs?: number;
}

export interface StepUpService {
  stepUp(input: StepUpInput): Promise<StartedFlow & { scope: string }>;
}

/** Scope strings as sets (RFC 6749 §3.3: space-delimited, order irrelevant), sorted for keys. */
export const scopeUnion = (...scopes: Array<string | null | undefined>): string =>
  [...new Set(scopes.flatMap((s) => (s ?? '').split(' ')).filter(Boolean))].sort().join(' ');

/**
 * Step-up authorization (MCP 2026-07-28): a 403 `insufficient_scope` starts a new attempt
 * asking for the union of what the grant already has (and its flow asked for) and what the
 * server challenged, so a step-up never loses earlier scopes. Each step-up is recorded as
 * `StepUpRequested`; more than `maxAttempts` for the same scope set within `windowMs` is
 * refused (a server that keeps refusing must not send the user round in circles).
 *
 * The step-up attempt supersedes a pending one: that one asked for less.
 */
export function createStepUpService(
  deps: FlowDeps,
  readGrant: (userId: string, serverName: string) => Promise<GrantState>,
  readConnection: (userId: string, serverName: string) => Promise<McpConnectionState>,
  options: StepUpOptions = {},
): StepUpService {
  const max = options.maxAttempts ?? 2;
  const windowMs = options.windowMs ?? 3_600_000;
  return {
    async stepUp(input) {
      const { userId, serverName } = input;
      const grant = await readGrant(userId, serverName);
      const requested = grant.flowId ? (await grantClient(deps, grant.flowId).catch(() => null))?.requestedScope : undefined;
      const scope = scopeUnion(grant.scope, requested, input.challengedScope);
      if (!scope) throw new EngineError(ErrorCode.INVALID_ARGUMENT, 'A step-up needs a scope to ask for');
      for (let round = 0; round < 4; round++) {
        const conn = await readConnection(userId, serverName);
        const now = deps.clock.now();
        const recent = (conn.stepUps[scope] ?? []).filter((at) => now.getTime() - at < windowMs);
        if (recent.length >= max) {
          throw new EngineError(ErrorCode.FORBIDDEN, `Step-up for ${quote(serverName, 80)} was tried ${recent.length} times for this scope`, {
            details: { serverName, reason: 'step_up_limit_reached', scope, attempts: recent.length },
          });
        }
        const event = newEvent('StepUpRequested', { serverName, scope, challengedScope: input.challengedScope.slice(0, 2000), attempt: recent.length + 1 }, {
          now,
          correlationId: input.correlationId,
          actor: userId,
        });
        try {
          await deps.store.appendToStream(mcpConnectionStream(userId, serverName), event, { expectedRevision: conn.revision ?? 'no_stream' });
        } catch (err) {
          if (isWrongExpectedVersion(err)) continue; // a concurrent step-up or verification: count again
          throw err;
        }
        const started = await startFlow(deps, {
          userId,
          serverName,
          correlationId: input.correlationId,
          challenge: { scope, ...(input.resourceMetadataUrl ? { resourceMetadataUrl: input.resourceMetadataUrl } : {}) },
          forceNew: true,
        });
        return { ...started, scope };
      }
      throw new EngineError(ErrorCode.CONCURRENCY_RETRIES_EXHAUSTED, 'Could not record the step-up: too much contention');
    },
  };
}
