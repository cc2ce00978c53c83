import test from 'ava';
import { readFileSync } from 'node:fs';
import type { SealedValue } from '../../../src/flow/sealed.js';
import { eventsOf, startEngine, startPeers } from '../../support/engineHarness.js';
import { accessTokenOf, flowSuite } from './_flowSuite.js';

/** The flow suite on the embedded SQLite store (a temp file per engine). */
flowSuite(test, async () => ({ options: {}, stop: async () => {} }));

test('after a full flow the raw database file holds none of the secrets', async (t) => {
  const peers = await startPeers('oidc');
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  const { started, callback } = await h.authorize('alice', 'files');
  t.true((await h.callback('files', callback, started.bindingSecret)).ok);
  const { accessToken, refreshToken } = await accessTokenOf(h.engine, 'alice', 'files');
  const verifier = h.engine.deps.sealer.open(
    ((await eventsOf(h.store, 'flow'))[0]!.data as { codeVerifier: SealedValue }).codeVerifier,
    `flow-${started.flowId}:codeVerifier`,
  );
  await h.store.close();
  const raw = ['', '-wal'].map((s) => { try { return readFileSync(`${h.dbPath}${s}`).toString('latin1'); } catch { return ''; } }).join('');
  const secrets = { accessToken, refreshToken, verifier, state: callback.state!, code: callback.code!, binding: started.bindingSecret, stateSecret: callback.state!.split('.')[1]! };
  for (const [name, value] of Object.entries(secrets)) {
    if (value) t.false(raw.includes(value), `${name} found in the database file`);
  }
  t.true(raw.includes(started.flowId), 'the check reads the real file');
});

test('token calls use the recorded token endpoint, wherever the AS serves it', async (t) => {
  const peers = await startPeers('oidc', { routes: { token: '/oauth2/v1/token', revocation: '/oauth2/v1/revoke' } });
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  const outcome = await h.connect('alice', 'files');
  t.like(outcome, { ok: true });
  t.is(peers.tokenRequests(), 1);
  const initiated = (await eventsOf(h.store, 'flow'))[0]!.data as { discovery: { tokenEndpoint: string } };
  t.is(initiated.discovery.tokenEndpoint, `${peers.as.issuer}/oauth2/v1/token`);
});

test('a flow\'s id starts with its start time: flows started later sort later in the stream index', async (t) => {
  const peers = await startPeers('sdk');
  let ms = Date.UTC(2026, 10, 27, 14);
  const h = await startEngine({ servers: { files: { url: peers.mcp.url } }, clock: { now: () => new Date(ms) } });
  t.teardown(async () => { await h.close(); await peers.stop(); });
  const ids: string[] = [];
  for (const user of ['zed', 'amy', 'bob']) {
    ids.push((await h.engine.startFlow({ userId: user, serverName: 'files', correlationId: 't' })).flowId);
    ms += 1;
  }
  t.is(ids[0]!.slice(0, 9), Date.UTC(2026, 10, 27, 14).toString(36).padStart(9, '0'));
  t.deepEqual([...ids].sort(), ids);
  t.deepEqual((await eventsOf(h.store, 'flow')).filter((e) => e.type === 'FlowInitiated').map((e) => e.stream), ids.map((id) => `flow-${id}`));
});
