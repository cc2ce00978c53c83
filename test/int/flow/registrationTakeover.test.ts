import test from 'ava';
import { createOAuthDriver } from '../../../src/oauth/index.js';
import type { OAuthDriver } from '../../../src/oauth/types.js';
import { eventsOf, LOOPBACK, startEngine, startPeers } from '../../support/engineHarness.js';
import { movableClock } from '../../support/grantHelpers.js';

test('a registration whose claimant died is taken over by the attempt waiting for it, before that attempt gives up', async (t) => {
  const peers = await startPeers('sdk');
  const clock = movableClock();
  const inner = createOAuthDriver({ allowedDomains: LOOPBACK, clock });
  let calls = 0;
  let unblock!: () => void;
  const never = new Promise<never>((_, reject) => (unblock = () => reject(new Error('the dead claimant'))));
  // The first registration never comes back: its claimant is as good as dead.
  const driver: OAuthDriver = { ...inner, resolveClient: (input) => (++calls === 1 ? never : inner.resolveClient(input)) };
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, driver, clock });
  t.teardown(async () => { unblock(); await h.close(); await peers.stop(); });

  const dead = h.engine.startFlow({ userId: 'alice', serverName: 'files', correlationId: 'dead' });
  dead.catch(() => undefined);
  while (calls === 0) await new Promise((r) => setTimeout(r, 5));
  let outcome: { ok: boolean; error?: unknown } | undefined;
  const waiting = h.engine.startFlow({ userId: 'bob', serverName: 'files', correlationId: 'waiting' })
    .then(() => (outcome = { ok: true }), (error: unknown) => (outcome = { ok: false, error }));
  // Time passes for the engine one second per 50 ms, until the waiting start settles.
  for (let s = 0; s < 60 && outcome === undefined; s++) {
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(1000);
  }
  await waiting;
  t.deepEqual(outcome, { ok: true });
  t.is(peers.registrations(), 1, 'one registration request reached the authorization server');
  t.deepEqual((await eventsOf(h.store, 'client')).map((e) => e.type), ['ClientRegistrationStarted', 'ClientRegistrationStarted', 'ClientRegistered']);
});
