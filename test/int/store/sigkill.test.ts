import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import Database from 'better-sqlite3';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { spawnStoreChild } from '../../support/spawnStoreChild.js';
import { collect } from '../../support/storeContract/harness.js';
import { tempFile } from '../../support/tempFile.js';

const ROUNDS = 22;
const STREAM = 'crash-1';

/** Runs the looping writer until a random moment, SIGKILLs it, and returns the batches it acknowledged. */
async function killWriterAtRandom(file: string, round: number): Promise<string[][]> {
  const child = spawnStoreChild(['loop', file, STREAM]);
  const acked: string[][] = [];
  let partial = '';
  let firstAck!: () => void;
  const running = new Promise<void>((resolve) => (firstAck = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!; // an unfinished line was not fully reported: ignore it
    for (const line of lines) {
      if (line.startsWith('ack ')) acked.push(line.slice(4).split(' '));
    }
    if (acked.length > 0) firstAck();
  });
  const exited = once(child, 'exit');
  if (round % 5 === 0) {
    // Now and then kill during start-up (opening, WAL switch, migrations on the first round).
    await sleep(Math.random() * 600);
  } else {
    await Promise.race([running, exited]);
    await sleep(Math.random() * 80);
  }
  child.kill('SIGKILL');
  await exited;
  return acked;
}

test('a writer SIGKILLed at random moments loses no acknowledged append and leaves no partial batch', async (t) => {
  const file = await tempFile(t);
  const acknowledged = new Set<string>();
  let kills = 0;

  for (let round = 0; round < ROUNDS; round++) {
    for (const batch of await killWriterAtRandom(file, round)) for (const id of batch) acknowledged.add(id);
    kills++;

    const store = await openEventStore(`sqlite:${file}`);
    const events = await collect(store.readStream(STREAM)).catch((err: { code?: string }) => {
      if (err.code === 'stream_not_found') return [];
      throw err;
    });
    await store.close();

    const stored = new Set(events.map((e) => e.id));
    const lost = [...acknowledged].filter((id) => !stored.has(id));
    t.deepEqual(lost, [], `round ${round}: every acknowledged event survived`);
    t.is(stored.size, events.length, `round ${round}: no duplicate ids`);
    t.deepEqual(
      events.map((e) => e.revision),
      events.map((_, i) => BigInt(i)),
      `round ${round}: revisions contiguous`,
    );
    const batches = new Map<string, number[]>();
    for (const e of events) {
      const { batchId } = e.metadata as { batchId: string };
      batches.set(batchId, [...(batches.get(batchId) ?? []), (e.data as { i: number }).i]);
    }
    const broken = [...batches].filter(([, parts]) => parts.join() !== '0,1,2');
    t.deepEqual(broken, [], `round ${round}: every batch is complete`);

    const raw = new Database(file, { readonly: true });
    t.is(raw.pragma('integrity_check', { simple: true }), 'ok', `round ${round}: integrity_check`);
    raw.close();
  }
  t.true(kills >= 20);
  t.true(acknowledged.size > 0, 'the writer acknowledged appends before being killed');
  t.log(`${kills} kills, ${acknowledged.size} acknowledged events checked`);
});
