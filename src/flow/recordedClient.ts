import type { ClientIdentity, DiscoveryResult } from '../oauth/types.js';
import type { Sealer } from './deps.js';
import type { FlowEventData } from './events.js';
import { flowStream } from './streams.js';

/**
 * The authorization server and client identity an attempt recorded at initiation, rebuilt for
 * a token call (code exchange, refresh, revocation): later calls talk to the same AS with the
 * same client, without rediscovery (MCP 2026-07-28: credentials are bound to one AS). The
 * client secret is opened from the flow stream it was sealed for.
 */
export function recordedClient(sealer: Sealer, initiated: FlowEventData<'FlowInitiated'>): { discovery: DiscoveryResult; client: ClientIdentity } {
  const d = initiated.discovery;
  const ref = initiated.client;
  return {
    // The driver derives the RFC 8414 document from these structured fields.
    discovery: { ...d, resource: d.resource, scope: initiated.scope, metadata: {} },
    client: {
      clientId: ref.clientId,
      kind: ref.kind,
      tokenEndpointAuthMethod: ref.tokenEndpointAuthMethod,
      redirectUris: [initiated.redirectUri],
      issuer: d.issuer,
      ...(ref.clientSecret ? { clientSecret: sealer.open(ref.clientSecret, `${flowStream(initiated.flowId)}:clientSecret`) } : {}),
    },
  };
}
