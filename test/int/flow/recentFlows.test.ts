import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataKeyStore } from '../../../src/store/dataKeys/index.js';
import { eventsOf, startEngine, startPeers, type EngineHarness, type Peers } from '../../support/engineHarness.js';

/**
 * A callback that comes back to the process that started its flow decides on what that
 * process appended (`RecentFlows`), and the completion assumes no grant stream until told
 * otherwise. Both shortcuts must give way to what other processes wrote: two engines on one
 * SQLite file, the flow started on A, another write made on B, the callback delivered to A.
 */
async function twoEngines(run: (a: EngineHarness, b: EngineHarness, peers: Peers) => Promise<void>): Promise<void> {
  const peers = await startPeers('sdk');
  const dir = mkdtempSync(join(tmpdir(), 'recent-flows-'));
  const dbPath = join(dir, 'events.db');
  const keysA = openDataKeyStore(`sqlite:${dbPath}`);
  const keysB = openDataKeyStore(`sqlite:${dbPath}`);
  const servers = { files: { url: peers.mcp.url } };
  const encryptionKey = Buffer.alloc(32, 3).toString('base64');
  const a = await startEngine({ servers, dbPath, encryptionKey, grantOptions: { dataKeys: keysA } });
  const b = await startEngine({ servers, dbPath, encryptionKey, grantOptions: { dataKeys: keysB } });
  try {
    await run(a, b, peers);
  } finally {
    keysA.close();
    keysB.close();
    await a.close();
    await b.close();
    await peers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('a browser bound on another process completes the flow through the process that started it', async (t) => {
  await twoEngines(async (a, b, peers) => {
    const { started, callback } = await a.authorize('alice', 'files');
    const bound = await b.engine.bindBrowser({ userId: 'alice', serverName: 'files', correlationId: 'bind-b' });
    t.truthy(bound);
    t.is(bound!.flowId, started.flowId);
    const outcome = await a.callback('files', callback, bound!.bindingSecret);
    t.like(outcome, { ok: true, flowId: started.flowId, alreadyCompleted: false });
    t.is(peers.tokenRequests(), 1);
    const flow = (await eventsOf(a.store, 'flow')).map((e) => e.type);
    t.deepEqual(flow, ['FlowInitiated', 'BrowserBound', 'CodeExchangeStarted', 'FlowCompleted']);
  });
});

test.serial('a flow cancelled on another process is not exchanged by the process that started it', async (t) => {
  await twoEngines(async (a, b, peers) => {
    const { started, callback } = await a.authorize('bob', 'files');
    t.true((await b.engine.cancelFlow({ userId: 'bob', serverName: 'files', correlationId: 'cancel-b' })).success);
    const outcome = await a.callback('files', callback, started.bindingSecret);
    t.deepEqual(outcome, { ok: false, error: 'flow_cancelled', flowId: started.flowId });
    t.is(peers.tokenRequests(), 0, 'no token request');
    const flow = (await eventsOf(a.store, 'flow')).map((e) => e.type);
    t.deepEqual(flow, ['FlowInitiated', 'FlowCancelled']);
    t.is((await eventsOf(a.store, 'grant')).length, 0);
  });
});

test.serial('a callback without the binding appends nothing, and the bound browser still completes afterwards', async (t) => {
  await twoEngines(async (a, _b, peers) => {
    const { started, callback } = await a.authorize('carol', 'files');
    const head = await a.store.headPosition();
    t.like(await a.callback('files', callback, undefined), { ok: false, error: 'csrf_validation_failed' });
    t.like(await a.callback('files', callback, 'not-the-binding-secret-not-the-binding'), { ok: false, error: 'csrf_validation_failed' });
    t.deepEqual(await a.store.headPosition(), head, 'nothing appended');
    t.like(await a.callback('files', callback, started.bindingSecret), { ok: true, alreadyCompleted: false });
    t.like(await a.callback('files', callback, started.bindingSecret), { ok: true, alreadyCompleted: true }, 'a replay reports the outcome');
    t.is(peers.tokenRequests(), 1);
  });
});

test.serial('a re-authorization names the revision its TokensIssued got in the existing grant stream', async (t) => {
  await twoEngines(async (a, b) => {
    t.like(await b.connect('dave', 'files'), { ok: true });
    const second = await a.engine.startFlow({ userId: 'dave', serverName: 'files', correlationId: 'again', forceNew: true });
    t.false(second.joined);
    const { callback } = await a.authorize('dave', 'files');
    t.like(await a.callback('files', callback, second.bindingSecret), { ok: true, flowId: second.flowId });
    const grant = await eventsOf(a.store, 'grant');
    t.deepEqual(grant.map((e) => [e.type, e.data.flowId]), [['TokensIssued', grant[0]!.data.flowId], ['TokensIssued', second.flowId]]);
    const completed = (await eventsOf(a.store, 'flow')).filter((e) => e.type === 'FlowCompleted').map((e) => e.data.grantRevision);
    t.deepEqual(completed, ['0', '1']);
  });
});

test.serial('reinitialize reports connected for a grant recorded by another process, and starts a flow for a new user', async (t) => {
  await twoEngines(async (a, b) => {
    t.like(await b.connect('erin', 'files'), { ok: true });
    t.deepEqual(await a.engine.reinitialize({ userId: 'erin', serverName: 'files', correlationId: 'r1' }), { connected: true });
    const fresh = await a.engine.reinitialize({ userId: 'frank', serverName: 'files', correlationId: 'r2' });
    t.false(fresh.connected);
    const again = await b.engine.reinitialize({ userId: 'frank', serverName: 'files', correlationId: 'r3' });
    t.like(again, { connected: false, flow: { joined: true, flowId: fresh.connected ? '' : fresh.flow.flowId } });
  });
});
