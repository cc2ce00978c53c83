import test from 'ava';
import {
  InvalidClientError,
  InvalidGrantError,
  ServerError,
  UnauthorizedClientError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { systemClock } from '../../../src/clock.js';
import { EngineError } from '../../../src/errors.js';
import { canonicalResourceUri, classifyOAuthError, resolveClient, revoke, type ClientIdentity, type DiscoveryResult, type FetchLike } from '../../../src/oauth/index.js';

test('the canonical resource URI drops the fragment and the trailing slash and lowercases the host', (t) => {
  t.is(canonicalResourceUri('HTTPS://MCP.Example.com/'), 'https://mcp.example.com');
  t.is(canonicalResourceUri('https://mcp.example.com/mcp/#frag'), 'https://mcp.example.com/mcp');
  t.is(canonicalResourceUri('https://mcp.example.com:8443/a/b?x=1'), 'https://mcp.example.com:8443/a/b?x=1');
});

test('token errors are classified through the SDK error classes and the structured body', (t) => {
  t.is(classifyOAuthError(new InvalidClientError('x'), { status: 401, oauthError: 'invalid_client' }), 'invalid_client');
  t.is(classifyOAuthError(new UnauthorizedClientError('x'), { status: 400, oauthError: 'unauthorized_client' }), 'unauthorized_client');
  t.is(classifyOAuthError(new InvalidGrantError('x'), { status: 400, oauthError: 'invalid_grant' }), 'invalid_grant');
});

test('an unparseable error body is not classified, whatever its message says', (t) => {
  t.is(classifyOAuthError(new ServerError('HTTP 502: invalid_client'), { status: 502 }), undefined);
  t.is(classifyOAuthError(new Error('invalid_client'), { status: 401, oauthError: 'invalid_client' }), undefined);
});

test('a code the SDK does not know comes from the parsed body', (t) => {
  t.is(classifyOAuthError(new ServerError('no'), { status: 400, oauthError: 'invalid_redirect_uri' }), 'invalid_redirect_uri');
  // Named like a property every object has: still a code of its own, not the SDK's lookup table's.
  t.is(classifyOAuthError(new ServerError('no'), { status: 400, oauthError: 'constructor' }), 'constructor');
});

const issuer = 'https://as.example.com';
const discovery: DiscoveryResult = {
  resource: undefined,
  issuer,
  authorizationEndpoint: `${issuer}/authorize`,
  tokenEndpoint: `${issuer}/token`,
  registrationEndpoint: `${issuer}/register`,
  revocationEndpoint: `${issuer}/revoke`,
  issParameterSupported: false,
  clientIdMetadataDocumentSupported: false,
  scope: undefined,
  metadata: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, registration_endpoint: `${issuer}/register`, response_types_supported: ['code'] },
};
const client: ClientIdentity = { clientId: 'client-1', tokenEndpointAuthMethod: 'none', kind: 'dcr', redirectUris: ['https://app.example.com/cb'], issuer };
/** An authorization server that answers every request with this RFC 6749 §5.2 error body. */
const answering = (error: string): FetchLike => async () => new Response(JSON.stringify({ error }), { status: 400, headers: { 'content-type': 'application/json' } });
const register = (error: string) =>
  resolveClient({ discovery, redirectUri: 'https://app.example.com/cb', clientName: 'test', scope: undefined, server: { url: 'https://mcp.example.com/mcp' } }, { fetch: answering(error) });
const revokeAt = (error: string) =>
  revoke({ discovery, client, token: 'tok', tokenTypeHint: 'access_token', server: { url: 'https://mcp.example.com/mcp' } }, { fetch: answering(error), clock: systemClock });

const INJECTION = `<b>pwned</b>\r\nX-Injected: 1 ${'A'.repeat(5000)}`;

for (const [what, call, code] of [['registration', register, 'registration_failed'], ['revocation', revokeAt, 'token_request_failed']] as const) {
  test(`a ${what} error whose code breaks the RFC 6749 syntax is left unclassified and kept out of the message`, async (t) => {
    const err = await t.throwsAsync(call(INJECTION), { instanceOf: EngineError });
    t.is(err!.code, code);
    t.is(err!.details?.oauthError, undefined, 'not classified');
    t.is(err!.details?.reason, 'unstructured_error_response');
    t.false(/[\r\n<>]|AAAA/.test(err!.message), err!.message.slice(0, 200));
    t.true(err!.message.length < 200);
  });

  test(`a well-formed ${what} error code is classified and quoted in the message`, async (t) => {
    const plain = await t.throwsAsync(call('invalid_client_metadata'), { instanceOf: EngineError });
    t.is(plain!.details?.oauthError, 'invalid_client_metadata');
    t.true(plain!.message.endsWith(': "invalid_client_metadata"'), plain!.message);
    // RFC 6749's code syntax admits angle brackets: quoting escapes them.
    const tagged = await t.throwsAsync(call('<b>x</b>'), { instanceOf: EngineError });
    t.is(tagged!.details?.oauthError, '<b>x</b>');
    t.false(/[<>]/.test(tagged!.message), tagged!.message);
  });
}
