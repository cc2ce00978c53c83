import type { Context } from 'koa';
import { escapeHtml, sendPage } from './html.js';

/**
 * What the error page says per code. Only these codes are ever shown: anything else in
 * `?error=` is displayed as `unknown_error`, so the page cannot be made to say something the
 * engine never said (no reflected text, no phishing copy).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 (the authorization server's codes)
 */
export const ERROR_MESSAGES: Readonly<Record<string, string>> = {
  missing_code: 'The authorization server did not return an authorization code.',
  missing_state: 'The callback did not carry a state parameter.',
  invalid_state: 'This callback does not belong to an authorization this application started, or it was already used.',
  csrf_validation_failed: 'This browser did not start this authorization. Start the connection again from the same browser.',
  issuer_mismatch: 'The response came from a different authorization server than the one asked.',
  flow_expired: 'The authorization took too long and expired. Please start again.',
  flow_cancelled: 'This authorization was cancelled or replaced by a newer one.',
  client_rejected: 'The authorization server no longer accepts this application\'s client registration. Please start again.',
  callback_failed: 'The authorization could not be completed.',
  access_denied: 'Access was denied at the authorization server.',
  invalid_request: 'The authorization server rejected the request as invalid.',
  unauthorized_client: 'The authorization server does not allow this application to ask for access this way.',
  unsupported_response_type: 'The authorization server does not support this kind of request.',
  invalid_scope: 'The requested permissions are not valid at the authorization server.',
  server_error: 'The authorization server had an internal error.',
  temporarily_unavailable: 'The authorization server is temporarily unavailable. Please try again later.',
  login_required: 'The authorization server needs you to sign in.',
  consent_required: 'The authorization server needs your consent.',
  interaction_required: 'The authorization server needs you to interact with it.',
  account_selection_required: 'The authorization server needs you to choose an account.',
  invalid_target: 'The authorization server does not know this MCP server as a resource.',
};

/** A whitelisted error code, or `unknown_error`. */
export function knownErrorCode(value: unknown): string {
  return typeof value === 'string' && Object.hasOwn(ERROR_MESSAGES, value) ? value : 'unknown_error';
}

/** Server names shown on the success page: printable, bounded, escaped on output. */
function displayName(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || /[\p{Cc}\p{Cf}]/u.test(value)) return undefined;
  return value;
}

export interface LandingOptions {
  /** A link back into the host application (demo mode: its home page). */
  homeUrl?: string;
}

/** `GET /oauth/success?serverName=…`: says the connection is made, nothing more. */
export function successPage(ctx: Context, options: LandingOptions = {}): void {
  const name = displayName(ctx.query.serverName);
  const what = name ? `<code id="server">${escapeHtml(name)}</code> is` : 'The MCP server is';
  sendPage(ctx, 200, 'Connected', `<h1 class="ok">Connected</h1>
<p>${what} <strong id="status">connected</strong>. You can close this window.</p>${home(options)}`);
}

/** `GET /oauth/error?error=<code>`: a whitelisted explanation, never the raw parameter. */
export function errorPage(ctx: Context, options: LandingOptions = {}): void {
  const code = knownErrorCode(ctx.query.error);
  const message = ERROR_MESSAGES[code] ?? 'The authorization did not complete.';
  sendPage(ctx, 200, 'Authorization failed', `<h1 class="bad">Authorization failed</h1>
<p>${escapeHtml(message)}</p><p class="muted">Error code: <code id="error">${escapeHtml(code)}</code></p>${home(options)}`);
}

function home(options: LandingOptions): string {
  return options.homeUrl ? `<p><a href="${escapeHtml(options.homeUrl)}">Back to the application</a></p>` : '';
}
