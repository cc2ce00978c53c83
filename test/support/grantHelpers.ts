import type { Clock } from '../../src/clock.js';
import type { Engine } from '../../src/engine.js';
import { readDomainEvents } from '../../src/flow/commandHandler.js';
import { grantStream } from '../../src/flow/streams.js';
import { grantClient } from '../../src/grants/grantClient.js';
import { foldGrant } from '../../src/grants/fold.js';
import { openTokens, type StoredTokens } from '../../src/grants/recordTokens.js';
import type { OAuthDriver, RefreshInput } from '../../src/oauth/types.js';
import type { EventStore } from '../../src/store/types.js';

/** A clock the test moves forward (e.g. past the access token's expiry). */
export function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

/** Wraps a driver so every refresh token presented to the AS is recorded, and refreshes can be made to fail. */
export function recordingDriver(inner: OAuthDriver): OAuthDriver & { presented: string[]; failRefreshWith?: (() => Error) | undefined } {
  const d: OAuthDriver & { presented: string[]; failRefreshWith?: (() => Error) | undefined } = {
    ...inner,
    presented: [],
    async refresh(input: RefreshInput) {
      d.presented.push(input.refreshToken);
      if (d.failRefreshWith) throw d.failRefreshWith();
      return inner.refresh(input);
    },
  };
  return d;
}

/** The grant's current token set, opened (throws KEY_SHREDDED once shredded). */
export async function currentTokens(engine: Engine, userId: string, serverName: string): Promise<StoredTokens> {
  const state = foldGrant(await readDomainEvents(engine.deps.store, grantStream(userId, serverName)));
  return openTokens(engine.deps, state.tokens!, userId, serverName);
}

/** Revokes a token at the AS behind the engine's back (the AS-side revocation scenario). */
export async function revokeAtAs(engine: Engine, userId: string, serverName: string, token: string, hint: 'access_token' | 'refresh_token'): Promise<void> {
  const state = foldGrant(await readDomainEvents(engine.deps.store, grantStream(userId, serverName)));
  const c = await grantClient(engine.deps, state.flowId!);
  await engine.deps.driver.revoke({ discovery: c.discovery, client: c.client, token, tokenTypeHint: hint, server: c.server });
}

export async function grantEventTypes(store: EventStore, userId: string, serverName: string): Promise<string[]> {
  return (await readDomainEvents(store, grantStream(userId, serverName))).map((e) => e.type);
}
