import type { Sealer } from '../flow/deps.js';
import type { McpServerConfig, ServerOAuthConfig } from '../oauth/types.js';
import type { RecordedHeaders, RecordedOAuth } from './events.js';
import type { ServerState } from './fold.js';

/**
 * Secrets of a server's configuration as they go into its stream: every header value (which
 * ones are credentials cannot be told from the name: `X-Api-Key`, `Authorization`,
 * `X-Custom-Token`…) and the OAuth client secret. The AAD binds each to its stream and field.
 */
const headerAad = (stream: string, name: string) => `${stream}:headers.${name.toLowerCase()}`;
const secretAad = (stream: string) => `${stream}:oauth.client_secret`;

export function sealHeaders(sealer: Sealer, stream: string, headers: Record<string, string>): RecordedHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, sealer.seal(value, headerAad(stream, name))]));
}

export function sealOAuth(sealer: Sealer, stream: string, oauth: ServerOAuthConfig): RecordedOAuth {
  const { client_secret, ...rest } = oauth;
  return { ...rest, ...(client_secret !== undefined ? { client_secret: sealer.seal(client_secret, secretAad(stream)) } : {}) };
}

export function openHeaders(sealer: Sealer, stream: string, headers: RecordedHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, sealed]) => [name, sealer.open(sealed, headerAad(stream, name))]));
}

export function openOAuth(sealer: Sealer, stream: string, oauth: RecordedOAuth): ServerOAuthConfig {
  const { client_secret, ...rest } = oauth;
  return { ...rest, ...(client_secret !== undefined ? { client_secret: sealer.open(client_secret, secretAad(stream)) } : {}) };
}

/** The configuration the engine connects with (secrets opened), as for a configured server. */
export function openConfig(sealer: Sealer, stream: string, s: ServerState): McpServerConfig {
  return {
    url: s.url,
    ...(s.headers ? { headers: openHeaders(sealer, stream, s.headers) } : {}),
    ...(s.oauth ? { oauth: openOAuth(sealer, stream, s.oauth) } : {}),
  };
}
