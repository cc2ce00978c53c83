import test from 'ava';
import {
  InvalidClientError,
  InvalidGrantError,
  ServerError,
  UnauthorizedClientError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { canonicalResourceUri, classifyOAuthError } from '../../../src/oauth/index.js';

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
});
