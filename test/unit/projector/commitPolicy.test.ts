import test from 'ava';
import { startProjector, type ProjectionSource } from '../../../src/projector/index.js';
import { createMemoryProjectionState, type ProjectionCommit, type ProjectionStateStore } from '../../../src/store/projectionState/index.js';
import { openEventStore } from '../../../src/store/index.js';

const PER_STREAM: ProjectionSource = {
  name: 'p',
  source: `fromCategory('order').foreachStream().when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n++; } })`,
};

/** A memory state store that records every commit it stores. */
function recordingStore(): { store: ProjectionStateStore; commits: ProjectionCommit[][] } {
  const inner = createMemoryProjectionState();
  const commits: ProjectionCommit[][] = [];
  return {
    store: {
      ...inner,
      commit(c) {
        inner.commit(c);
        commits.push(c);
      },
    },
    commits,
  };
}

async function logOf(streams: number, perStream: number) {
  const store = await openEventStore('sqlite::memory:');
  for (let i = 0; i < perStream; i++) {
    for (let s = 0; s < streams; s++) await store.appendToStream(`order-${s}`, { type: 'Placed', data: { i }, metadata: { at: '2026-01-01T00:00:00.000Z' } });
  }
  return store;
}

test('while catching up, batch boundaries within commitIntervalMs apply without committing; the end of catch-up commits', async (t) => {
  const store = await logOf(10, 30);
  const { store: stateStore, commits } = recordingStore();
  const projector = startProjector({ store, stateStore, projections: [PER_STREAM], batchSize: 7, commitIntervalMs: 60_000 });
  await projector.ready;
  await projector.catchUp(5000);
  await projector.stop();
  // 300 events in batches of 7, but one commit holding each partition once, at the head.
  t.is(commits.length, 1);
  t.is(commits[0]![0]!.partitions.length, 10);
  t.is(stateStore.readCheckpoint('p')?.position?.commit, (await store.headPosition())!.commit);
  t.deepEqual(JSON.parse(stateStore.readState('p', 'order-3')!), { n: 30 });
  await store.close();
});

test('a catch-up that ends exactly on a batch boundary is committed once the subscription is idle', async (t) => {
  const store = await logOf(10, 30);
  const { store: stateStore } = recordingStore();
  const projector = startProjector({ store, stateStore, projections: [PER_STREAM], batchSize: 10, commitIntervalMs: 60_000 });
  t.teardown(async () => {
    await projector.stop();
    await store.close();
  });
  await projector.ready;
  const head = (await store.headPosition())!.commit;
  for (let i = 0; i < 200 && stateStore.readCheckpoint('p')?.position?.commit !== head; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(stateStore.readCheckpoint('p')?.position?.commit, head, '300 events in batches of 10: committed without stop()');
});

test('commitIntervalMs 0 commits at every batch boundary', async (t) => {
  const store = await logOf(10, 3);
  const { store: stateStore, commits } = recordingStore();
  const projector = startProjector({ store, stateStore, projections: [PER_STREAM], batchSize: 5, commitIntervalMs: 0 });
  await projector.ready;
  await projector.stop();
  t.true(commits.length >= 6, `${commits.length} commits for 30 events in batches of 5`);
  await store.close();
});

test('a projection holding more partitions than it may cache commits early, so they can be dropped from memory', async (t) => {
  const store = await logOf(50, 2);
  const { store: stateStore, commits } = recordingStore();
  const projector = startProjector({ store, stateStore, projections: [PER_STREAM], batchSize: 10, commitIntervalMs: 60_000, maxCachedPartitions: 20 });
  await projector.ready;
  await projector.stop();
  t.true(commits.length >= 3, `${commits.length} commits`);
  for (let s = 0; s < 50; s++) t.deepEqual(JSON.parse(stateStore.readState('p', `order-${s}`)!), { n: 2 });
  await store.close();
});

/** A projector over a small log, caught up and live; `before`: commits made until then. */
async function liveProjector(liveCommitIntervalMs: number) {
  const store = await logOf(2, 3);
  const { store: stateStore, commits } = recordingStore();
  const projector = startProjector({ store, stateStore, projections: [PER_STREAM], liveCommitIntervalMs });
  await projector.ready;
  await projector.catchUp(5000);
  return { store, stateStore, commits, projector, before: commits.length };
}

test('once live, batches inside liveCommitIntervalMs are applied at once and share one commit; stop() persists them', async (t) => {
  const { store, stateStore, commits, projector, before } = await liveProjector(60_000);
  for (let i = 0; i < 5; i++) {
    await store.appendToStream('order-0', { type: 'Placed', data: { i } });
    await projector.catchUp(5000);
  }
  t.deepEqual(await projector.getState('p', 'order-0'), { n: 8 }, 'every live batch is applied and readable at once');
  t.is(commits.length, before, 'none of them committed yet: one window');
  await projector.stop();
  t.is(commits.length, before + 1, 'stop() commits the window');
  t.is(stateStore.readCheckpoint('p')?.position?.commit, (await store.headPosition())!.commit);
  t.deepEqual(JSON.parse(stateStore.readState('p', 'order-0')!), { n: 8 });
  await store.close();
});

test('liveCommitIntervalMs 0 commits every live batch', async (t) => {
  const { store, commits, projector, before } = await liveProjector(0);
  for (let i = 0; i < 3; i++) {
    await store.appendToStream('order-1', { type: 'Placed', data: { i } });
    await projector.catchUp(5000);
    for (let w = 0; w < 100 && commits.length < before + i + 1; w++) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.is(commits.length, before + 3);
  await projector.stop();
  await store.close();
});
