import { loadConfig } from '../config.js';
import { EngineError, ErrorCode } from '../errors.js';
import { DEFAULT_PROJECTIONS_DIR, loadProjectionFiles } from '../projector/loadProjections.js';
import { startProjector, type Projector } from '../projector/projector.js';
import { openProjectionState } from '../store/projectionState/index.js';
import { openEventStore } from '../store/openEventStore.js';
import type { EventStore } from '../store/types.js';

const USAGE = 'usage: flowctl projections list | state <name> [--partition <p>] | rebuild <name> | deploy\n';

interface EsdbModule {
  openEsdbStore(connectionString: string): Promise<EventStore & { client: unknown }>;
  deployProjections(client: unknown, dir: string): Promise<{ created: string[]; updated: string[] }>;
}

const isEsdb = (cs: string): boolean => !cs.startsWith('sqlite:');

/** Opens the configured store and its projection state, runs `fn` with a caught-up projector, closes everything. */
async function withProjector<T>(connectionString: string, fn: (p: Projector) => Promise<T>): Promise<T> {
  const store = await openEventStore(connectionString);
  const stateStore = openProjectionState(connectionString);
  const projector = startProjector({ store, stateStore });
  try {
    await projector.ready;
    return await fn(projector);
  } finally {
    await projector.stop();
    stateStore.close();
    await store.close();
  }
}

/** Without the server running, the projector catches up here first (from the persisted checkpoint). */
async function list(connectionString: string): Promise<number> {
  const rows = await withProjector(connectionString, (p) => p.list());
  const table = [['NAME', 'STATUS', 'POSITION', 'LAG', 'REASON'], ...rows.map((r) => [r.name, r.status, r.position ? String(r.position.commit) : '-', String(r.lag), r.reason ?? ''])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  process.stdout.write(`${table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`);
  return rows.some((r) => r.status === 'faulted') ? 1 : 0;
}

async function state(connectionString: string, name: string, partition: string | undefined): Promise<number> {
  const value = isEsdb(connectionString)
    ? await esdbState(connectionString, name, partition)
    : await withProjector(connectionString, (p) => p.getState(name, partition));
  if (value === undefined) {
    process.stderr.write(`flowctl: projection ${JSON.stringify(name)} has no state${partition === undefined ? '' : ` for partition ${JSON.stringify(partition)}`}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

async function esdbState(connectionString: string, name: string, partition: string | undefined): Promise<unknown> {
  const specifier = '../store/esdb/index.js';
  const mod = (await import(specifier)) as EsdbModule & { EsdbProjectionReader: new (client: unknown) => { getState(n: string, p?: string): Promise<unknown> } };
  const store = await mod.openEsdbStore(connectionString);
  try {
    return await new mod.EsdbProjectionReader(store.client).getState(name, partition);
  } finally {
    await store.close();
  }
}

async function deploy(connectionString: string): Promise<number> {
  if (!isEsdb(connectionString)) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, 'EVENT_STORE: `projections deploy` needs an EventStoreDB store (esdb://…); the embedded projector runs projections/ by itself');
  }
  const specifier = '../store/esdb/index.js';
  const mod = (await import(specifier)) as EsdbModule;
  const store = await mod.openEsdbStore(connectionString);
  try {
    const report = await mod.deployProjections(store.client, DEFAULT_PROJECTIONS_DIR);
    process.stdout.write(`created: ${report.created.join(', ') || '-'}\nupdated: ${report.updated.join(', ') || '-'}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `flowctl projections list | state <name> [--partition <p>] | rebuild <name> | deploy`.
 * Embedded stores: the projector catches up from its persisted checkpoints first (it shares the
 * state with a running server safely). EventStoreDB: `state` asks the server, `deploy` creates
 * or updates the server's projections from `projections/`. Exit codes: 0 done, 1 faulted or no
 * state, 2 bad usage.
 */
export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const connectionString = loadConfig().eventStore;
  const known = new Set(loadProjectionFiles().map((f) => f.name));
  const needName = (): string | null => {
    const name = rest[0];
    if (!name || name.startsWith('--')) return null;
    if (!known.has(name)) throw new EngineError(ErrorCode.PROJECTION_NOT_FOUND, `No projection named ${JSON.stringify(name)} (known: ${[...known].join(', ')})`);
    return name;
  };
  switch (verb) {
    case 'list':
      if (isEsdb(connectionString)) {
        process.stderr.write('flowctl: projections run on EventStoreDB; see their status in its UI (or `flowctl projections state <name>`)\n');
        return 2;
      }
      return list(connectionString);
    case 'state': {
      const name = needName();
      const i = rest.indexOf('--partition');
      const partition = i >= 0 ? rest[i + 1] : undefined;
      if (!name || (i >= 0 && partition === undefined)) break;
      return state(connectionString, name, partition);
    }
    case 'rebuild': {
      const name = needName();
      if (!name) break;
      if (isEsdb(connectionString)) {
        process.stderr.write('flowctl: on EventStoreDB, reset the projection on the server (resetProjection)\n');
        return 2;
      }
      await withProjector(connectionString, (p) => p.rebuild(name));
      process.stdout.write(`rebuilt ${name}\n`);
      return 0;
    }
    case 'deploy':
      return deploy(connectionString);
  }
  process.stderr.write(USAGE);
  return 2;
}
