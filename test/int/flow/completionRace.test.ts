import test from 'ava';
import { newEvent } from '../../../src/flow/newEvent.js';
import { tokensIssuedEvent } from '../../../src/grants/recordTokens.js';
import { openEventStore } from '../../../src/store/openEventStore.js';
import type { EventStore, StreamAppend, AppendManyOptions } from '../../../src/store/types.js';
import { startEsdbTestServer } from '../../support/esdbServer/index.js';
import { eventsOf, startEngine, startPeers, type EngineHarness, type Peers } from '../../support/engineHarness.js';

/**
 * The callback writes `TokensIssued` and `FlowCompleted` in one `appendToStreams`. These tests
 * make a real write slip in just before that call (the race the fallback exists for), on the
 * embedded store (all or nothing) and on the EventStoreDB test server (a committed prefix),
 * against a real authorization server, and check what the log says afterwards.
 */

type Inject = (store: EventStore, parts: StreamAppend[]) => Promise<void>;

/** The store, with `inject` run once right before the callback's multi-stream append (grant first). */
function racing(store: EventStore, inject: Inject): EventStore {
  let armed = true;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendToStreams') {
        return async (parts: StreamAppend[], options?: AppendManyOptions) => {
          if (armed && parts[0]!.streamId.startsWith('grant-')) {
            armed = false;
            await inject(target, parts);
          }
          return target.appendToStreams(parts, options);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const stores = {
  sqlite: async () => ({ store: await openEventStore('sqlite::memory:'), stop: async () => undefined }),
  esdb: async () => {
    const server = await startEsdbTestServer();
    return { store: await openEventStore(server.connectionString), stop: () => server.stop() };
  },
};

async function withEngine(kind: keyof typeof stores, inject: (h: () => EngineHarness) => Inject, run: (h: EngineHarness, peers: Peers) => Promise<void>): Promise<void> {
  const peers = await startPeers('sdk');
  const { store, stop } = await stores[kind]();
  let harness: EngineHarness | undefined;
  try {
    harness = await startEngine({ servers: { files: { url: peers.mcp.url } }, store: racing(store, inject(() => harness!)) });
    await run(harness, peers);
  } finally {
    await store.close();
    await stop();
    await peers.stop();
  }
}

const ctx = { now: new Date(), correlationId: 'race', actor: 'race' };

for (const kind of Object.keys(stores) as Array<keyof typeof stores>) {
  test.serial(`${kind}: a grant write racing the completion still leaves one TokensIssued of the flow, named by FlowCompleted`, async (t) => {
    const inject = (h: () => EngineHarness): Inject => async (store, parts) => {
      const other = await tokensIssuedEvent(h().engine.deps, { flowId: 'other-flow', userId: 'alice', serverName: 'files', issuer: 'http://as', clientId: 'c' }, { accessToken: 'x', tokenType: 'Bearer' }, ctx);
      await store.appendToStream(parts[0]!.streamId, other.event);
    };
    await withEngine(kind, inject, async (h, peers) => {
      const outcome = await h.connect('alice', 'files');
      t.true(outcome.ok);
      const flowId = outcome.ok ? outcome.flowId : '';
      const grant = (await eventsOf(h.store, 'grant')).filter((e) => e.type === 'TokensIssued');
      t.deepEqual(grant.map((e) => e.data.flowId), ['other-flow', flowId], 'ours comes after the racing write, once');
      const completed = (await eventsOf(h.store, 'flow')).filter((e) => e.type === 'FlowCompleted');
      t.is(completed.length, 1);
      t.is(completed[0]!.data.grantRevision, '1', 'FlowCompleted names the revision our TokensIssued got');
      t.is(peers.tokenRequests(), 1);
    });
  });

  test.serial(`${kind}: a flow write racing the completion never records the grant twice`, async (t) => {
    const inject = (): Inject => async (store, parts) => {
      await store.appendToStream(parts[1]!.streamId, newEvent('FlowCancelled', { reason: 'race' }, ctx));
    };
    await withEngine(kind, inject, async (h) => {
      await h.connect('bob', 'files');
      const grant = (await eventsOf(h.store, 'grant')).filter((e) => e.type === 'TokensIssued');
      t.is(grant.length, 1, 'one TokensIssued, whether the multi-stream write left a prefix or not');
      const flow = (await eventsOf(h.store, 'flow')).map((e) => e.type);
      t.false(flow.includes('FlowCompleted'), 'the racing write won the flow stream');
      t.is(flow.at(-1), 'FlowCancelled');
    });
  });
}
