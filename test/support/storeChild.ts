/**
 * A separate process that writes to an SQLite event store file, for the multi-process tests.
 *   contend <file> <stream> <count> <label>  append <count> single events at expected revisions, retrying conflicts
 *   loop <file> <stream>                     append batches of 3 forever; print "ack <id> <id> <id>" after each
 *   append <file> <stream> <count>           append <count> events, then exit
 */
import { randomUUID } from 'node:crypto';
import { isWrongExpectedVersion } from '../../src/store/errors.js';
import { openEventStore } from '../../src/store/openEventStore.js';
import type { EventStore, ExpectedRevision } from '../../src/store/types.js';

const [mode, file, stream, countText, label] = process.argv.slice(2);

async function head(store: EventStore, streamId: string): Promise<ExpectedRevision> {
  try {
    for await (const e of store.readStream(streamId, { direction: 'backwards', maxCount: 1 })) return e.revision;
  } catch (err) {
    if ((err as { code?: string }).code === 'stream_not_found') return 'no_stream';
    throw err;
  }
  return 'no_stream';
}

/** Lets the parent start every writer at the same moment, so they really contend. */
function readyThenGo(): Promise<void> {
  process.stdout.write('ready\n');
  return new Promise((resolve) => process.stdin.once('data', () => resolve()));
}

async function contend(store: EventStore, count: number): Promise<void> {
  await readyThenGo();
  process.stdin.destroy();
  let expected = await head(store, stream!);
  let conflicts = 0;
  for (let seq = 0; seq < count; seq++) {
    const event = { type: 'Contended', data: { label, seq }, metadata: { label } };
    for (;;) {
      try {
        const result = await store.appendToStream(stream!, event, { expectedRevision: expected });
        expected = result.nextExpectedRevision;
        // Give the lock away now and then, so that writers interleave instead of taking turns in long runs.
        if (Math.random() < 0.25) await new Promise((resolve) => setTimeout(resolve, 1));
        break;
      } catch (err) {
        if (!isWrongExpectedVersion(err)) throw err;
        conflicts++;
        expected = err.actualVersion;
      }
    }
  }
  process.stdout.write(`done ${conflicts}\n`);
}

async function loop(store: EventStore): Promise<never> {
  for (let batch = 0; ; batch++) {
    const batchId = randomUUID();
    const events = [0, 1, 2].map((i) => ({ id: randomUUID(), type: 'Looped', data: { batch, i, pad: 'p'.repeat(150) }, metadata: { batchId } }));
    await store.appendToStream(stream!, events);
    process.stdout.write(`ack ${events.map((e) => e.id).join(' ')}\n`);
  }
}

const store = await openEventStore(`sqlite:${file}`);
switch (mode) {
  case 'contend':
    await contend(store, Number(countText));
    break;
  case 'loop':
    await loop(store);
    break;
  case 'append':
    for (let i = 0; i < Number(countText); i++) await store.appendToStream(stream!, { type: 'FromChild', data: { i } });
    process.stdout.write('done\n');
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
await store.close();
