import { EngineError, ErrorCode } from '../errors.js';
import type { FlowDeps } from '../flow/deps.js';
import { newEvent, type CommandContext } from '../flow/newEvent.js';
import { grantStream } from '../flow/streams.js';
import { isWrongExpectedVersion } from '../store/errors.js';
import type { GrantEventData } from './events.js';
import { openGrant } from './grantClient.js';
import type { GrantState } from './fold.js';
import { revokeTokens, type RevocationResult } from './revokeTokens.js';

export interface DisconnectResult {
  /** False when there was no live grant (already revoked or never issued). */
  revoked: boolean;
  revokedAtAs: GrantEventData<'GrantRevoked'>['revokedAtAs'] | null;
  shreddedKeys: string[];
}

/**
 * Disconnect: revokes the refresh and the access token at the AS (RFC 7009, when it
 * advertises a revocation endpoint; the refresh token first, since revoking it ends the whole
 * grant at most servers), appends `GrantRevoked` at the revision read, then destroys every
 * data key that sealed tokens in this grant stream (crypto-shredding). The events stay and
 * decode; their sealed fields no longer open (`KEY_SHREDDED`).
 *
 * A refresh landing between the read and the append makes the append fail; the new tokens
 * are then revoked too on the next round.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function disconnectGrant(
  deps: FlowDeps,
  readGrant: (userId: string, serverName: string) => Promise<GrantState>,
  input: { userId: string; serverName: string; reason?: string },
  ctx: CommandContext,
): Promise<DisconnectResult> {
  const { userId, serverName } = input;
  for (let round = 0; round < 4; round++) {
    const state = await readGrant(userId, serverName);
    if (state.status === 'none' || state.status === 'revoked') {
      // Idempotent, but a key left behind by an interrupted disconnect is still destroyed.
      const shredded = await shredAll(deps, state.dataKeys);
      return { revoked: false, revokedAtAs: null, shreddedKeys: shredded };
    }
    const revokedAtAs = await revokeAtAs(deps, state, userId, serverName);
    const event = newEvent('GrantRevoked', { reason: input.reason ?? 'user_disconnected', revokedAtAs, shreddedKeys: state.dataKeys }, ctx);
    try {
      await deps.store.appendToStream(grantStream(userId, serverName), event, { expectedRevision: state.revision! });
    } catch (err) {
      if (isWrongExpectedVersion(err)) continue;
      throw err;
    }
    return { revoked: true, revokedAtAs, shreddedKeys: await shredAll(deps, state.dataKeys) };
  }
  throw new EngineError(ErrorCode.CONCURRENCY_RETRIES_EXHAUSTED, 'Could not record the revocation: the grant kept changing');
}

async function shredAll(deps: FlowDeps, keys: string[]): Promise<string[]> {
  for (const k of keys) await deps.grantSealer.shred(k);
  return keys;
}

async function revokeAtAs(deps: FlowDeps, state: GrantState, userId: string, serverName: string): Promise<{ access: RevocationResult; refresh: RevocationResult }> {
  const opened = await openGrant(deps, state, userId, serverName, 'revocation');
  if (!opened) return { access: 'failed', refresh: 'failed' };
  return revokeTokens(deps, opened.client, opened.tokens, serverName);
}
