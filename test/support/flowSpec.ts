import type { DomainEvent } from '../../src/flow/catalogue.js';
import { decideFlow, type FlowCommand } from '../../src/flow/decide.js';
import { foldFlow, type FlowState } from '../../src/flow/evolve.js';
import type { FlowEventData } from '../../src/flow/events.js';
import type { CommandContext } from '../../src/flow/newEvent.js';

/** Given-events / when-command / then-events for the flow decider (emmett's DeciderSpecification, ported). */

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');
export const TTL = 10 * 60_000;
const H = (c: string) => c.repeat(43);
export const sealed = { v: 1, kid: 'test', iv: 'aXY', ct: 'Y3Q', tag: 'dGFn' };

export function initiated(over: Partial<FlowEventData<'FlowInitiated'>> = {}): FlowEventData<'FlowInitiated'> {
  return {
    flowId: 'flow0000000000000000',
    userId: 'alice',
    serverName: 'files',
    serverUrl: 'https://mcp.example/mcp',
    redirectUri: 'http://localhost:3080/api/mcp/files/oauth/callback',
    discovery: {
      issuer: 'https://as.example',
      authorizationEndpoint: 'https://as.example/auth',
      tokenEndpoint: 'https://as.example/token',
      issParameterSupported: true,
      clientIdMetadataDocumentSupported: false,
      resource: 'https://mcp.example/mcp',
    },
    client: { clientId: 'client-1', kind: 'dcr', tokenEndpointAuthMethod: 'none', registrationKey: 'reg1', registrationRevision: '1' },
    expiresAt: new Date(T0 + TTL).toISOString(),
    stateHash: H('s'),
    bindingHash: H('b'),
    codeVerifier: sealed,
    authorizationUrl: sealed,
    ...over,
  };
}

export const ctxAt = (ms: number, actor = 'alice'): CommandContext => ({ now: new Date(ms), correlationId: 'corr-1', actor });

/** An event of the given history; written by machine v1 unless `machineVersion` says otherwise. */
type Given = [type: string, data: unknown, atMs?: number, machineVersion?: number];

export function given(events: Given[]): FlowState {
  const domain: DomainEvent[] = events.map(([type, data, at, machineVersion], i) => ({
    type,
    data: data as Record<string, unknown>,
    metadata: { at: new Date(at ?? T0 + i * 1000).toISOString(), schemaVersion: 1, machineVersion: machineVersion ?? 1, correlationId: 'c', actor: 'alice' },
    streamId: 'flow-flow0000000000000000',
    revision: BigInt(i),
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  }));
  return foldFlow(domain);
}

/** The types (and data) a command appends on top of the given history. */
export function when(state: FlowState, command: FlowCommand, atMs = T0 + 60_000): Array<{ type: string; data: unknown }> {
  return decideFlow(command, state, ctxAt(atMs)).map((e) => ({ type: e.type, data: e.data }));
}

export const hashOf = H;
