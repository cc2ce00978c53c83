import test from 'ava';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { runStoreChild, spawnStoreChild, waitForLine } from '../../support/spawnStoreChild.js';
import { collect } from '../../support/storeContract/harness.js';
import { tempFile } from '../../support/tempFile.js';

test('four processes appending to one stream at expected revisions leave exactly 2000 contiguous events', async (t) => {
  const file = await tempFile(t);
  // Create and migrate the file first, as a deployed engine would.
  const store = await openEventStore(`sqlite:${file}`);
  t.teardown(() => store.close());

  const children = ['w0', 'w1', 'w2', 'w3'].map((label) => {
    const args = ['contend', file, 'race-1', '500', label];
    const child = spawnStoreChild(args);
    return { child, ready: waitForLine(child, (l) => l === 'ready'), done: runStoreChild(args, child) };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.write('go\n');
  const outputs = await Promise.all(children.map((c) => c.done));
  t.true(outputs.every((o) => /^ready\ndone \d+\n$/.test(o)));
  t.log('conflicts retried per process:', outputs.map((o) => o.trim().split(' ')[1]).join(', '));

  const events = await collect(store.readStream('race-1'));
  t.is(events.length, 2000);
  t.deepEqual(
    events.map((e) => e.revision),
    Array.from({ length: 2000 }, (_, i) => BigInt(i)),
  );
  t.is(new Set(events.map((e) => e.id)).size, 2000, 'no duplicate ids');
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.position.commit <= events[i - 1]!.position.commit) t.fail(`position not increasing at ${i}`);
  }
  const perWriter = new Map<string, number[]>();
  for (const e of events) {
    const { label, seq } = e.data as { label: string; seq: number };
    perWriter.set(label, [...(perWriter.get(label) ?? []), seq]);
  }
  for (const [label, seqs] of perWriter) {
    t.deepEqual(seqs, Array.from({ length: 500 }, (_, i) => i), `${label} wrote each of its events once, in order`);
  }
});
