/**
 * Projection rebuild throughput: every file in `projections/` rebuilt from zero by the
 * embedded projector over a generated log (default 1M events, `BENCH_EVENTS` to change it) in
 * a temporary SQLite file, states and checkpoints committed to the same file, next to a plain
 * TypeScript fold computing the same states from the same events through the same read path
 * (a `subscribeToAll` catch-up), in the same process, alternating runs.
 * Targets: ≥ 0.5× the plain fold and ≥ 100k events/s.
 *
 * The projector runs as the product runs it (`flowctl serve` at start-up, `flowctl projections
 * rebuild`): a catch-up this far behind goes to worker threads (`catchUpThreads`, one per core
 * by default), each reading the log on its own connection, only the event types its
 * projections handle. The fold is one thread, so the ratio is the product against the simplest
 * single-threaded code; `BENCH_THREADS=0` times the projector on one thread as well.
 */
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProjector } from '../src/projector/index.js';
import { openSqliteProjectionState, projectionStatePath } from '../src/store/projectionState/index.js';
import { openEventStore } from '../src/store/index.js';
import type { EventData, EventStore } from '../src/store/types.js';
import { foldAllIncrementally } from '../test/support/projections/folds.js';
import { LogSimulator, prng } from '../test/support/projections/logGenerator.js';
import { elapsedSince, formatRate, measurePair, printTable } from './_measure.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);

/**
 * Generates and appends in chunks so the simulator's entries never all sit in memory. Within a
 * chunk a stream's events go in one append (SQLite pays per transaction, and generation time
 * is not what this bench measures); events therefore come grouped by stream inside a chunk,
 * which changes nothing for throughput. Sequential event ids keep the id index append-only.
 */
async function generate(store: EventStore, events: number): Promise<number> {
  const rnd = prng(42);
  const sim = new LogSimulator({ users: 2000, servers: 8 });
  let written = 0;
  let id = 0;
  while (sim.eventCount < events) {
    for (let i = 0; i < 20_000 && sim.eventCount < events; i++) sim.step([Math.floor(rnd() * 100), Math.floor(rnd() * 1e6), Math.floor(rnd() * 1e6)]);
    const byStream = new Map<string, EventData[]>();
    for (const e of sim.entries.splice(0)) {
      const list = byStream.get(e.streamId) ?? [];
      for (const ev of e.events) list.push({ ...ev, id: `00000000-0000-4000-8000-${(id++).toString(16).padStart(12, '0')}` });
      byStream.set(e.streamId, list);
    }
    for (const [streamId, list] of byStream) {
      await store.appendToStream(streamId, list, { expectedRevision: 'any' });
      written += list.length;
    }
  }
  return written;
}

/**
 * Flushes the generated log to disk before anything is timed. Generation leaves hundreds of
 * megabytes of dirty pages that the kernel writes back over the next half minute; without this,
 * that write-back lands in whichever run comes first (the projector's).
 */
function settleWrites(path: string): void {
  for (const file of [path, `${path}-wal`]) {
    if (!existsSync(file)) continue;
    const fd = openSync(file, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-projections-'));
  const path = join(dir, 'events.db');
  const store = await openEventStore(`sqlite:${path}?synchronous=normal`);
  try {
    const genStart = process.hrtime.bigint();
    const total = await generate(store, EVENTS);
    settleWrites(path);
    console.log(`generated ${total} events in ${elapsedSince(genStart).toFixed(1)} s (not measured)`);

    const projectorRun = async () => {
      const stateStore = openSqliteProjectionState(projectionStatePath(path));
      for (const name of stateStore.listProjections()) stateStore.reset(name);
      const start = process.hrtime.bigint();
      const threads = process.env.BENCH_THREADS === undefined ? {} : { catchUpThreads: Number(process.env.BENCH_THREADS) };
      const projector = startProjector({ store, stateStore, batchSize: 5000, ...threads });
      await projector.ready;
      const faulted = (await projector.list()).filter((p) => p.status !== 'running');
      // Timed through stop(): it commits what is applied but not yet stored, part of the rebuild.
      await projector.stop();
      const seconds = elapsedSince(start);
      stateStore.close();
      if (faulted.length) throw new Error(`faulted: ${faulted.map((p) => `${p.name}: ${p.reason}`).join('; ')}`);
      return { items: total, seconds };
    };
    const foldRun = async () => {
      const start = process.hrtime.bigint();
      const fold = foldAllIncrementally();
      let n = 0;
      for await (const e of store.subscribeToAll({ fromPosition: 'start' })) {
        fold.apply(e as never);
        if (++n === total) break;
      }
      const seconds = elapsedSince(start);
      if (fold.states.flowStatus.size === 0) throw new Error('the fold saw no flows');
      return { items: total, seconds };
    };
    const runs = Number(process.env.BENCH_RUNS ?? 3);
    const [projector, fold] = await measurePair(projectorRun, foldRun, runs, 0);
    const ratio = projector.perSecond / fold.perSecond;
    printTable(
      ['contender', 'events/s (median)', 'runs'],
      [
        ['embedded projector, every projections/ file, rebuild + commits', formatRate(projector.perSecond), projector.runs.map((r) => formatRate(r)).join(', ')],
        ['plain TypeScript fold, same events, same read path', formatRate(fold.perSecond), fold.runs.map((r) => formatRate(r)).join(', ')],
      ],
    );
    console.log(`\nratio projector/fold: ${ratio.toFixed(2)}x (target ≥ 0.5x); projector ${formatRate(projector.perSecond)} events/s (target ≥ 100k)`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
