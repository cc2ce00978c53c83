import {
  CheckpointConflictError,
  samePosition,
  type ProjectionCommit,
  type ProjectionStateStore,
  type StoredCheckpoint,
} from './types.js';

interface Entry {
  checkpoint: StoredCheckpoint | undefined;
  partitions: Map<string, string>;
}

/**
 * In-process projection state, for `sqlite::memory:` stores and tests: it lives exactly as
 * long as the events it was computed from. Commits are atomic because they are synchronous.
 */
export function createMemoryProjectionState(): ProjectionStateStore {
  const entries = new Map<string, Entry>();
  const entry = (name: string): Entry => {
    let e = entries.get(name);
    if (!e) entries.set(name, (e = { checkpoint: undefined, partitions: new Map() }));
    return e;
  };
  return {
    readCheckpoint: (name) => entries.get(name)?.checkpoint,
    readState: (name, partition) => entries.get(name)?.partitions.get(partition),
    listPartitions: (name) => [...(entries.get(name)?.partitions.keys() ?? [])].sort(),
    listProjections: () => [...entries].filter(([, e]) => e.checkpoint).map(([n]) => n).sort(),
    commit(commits: ProjectionCommit[]) {
      // Check everything first: a refused commit must store nothing.
      for (const c of commits) {
        if (!samePosition(entries.get(c.name)?.checkpoint?.position ?? null, c.expected)) throw new CheckpointConflictError(c.name);
      }
      for (const c of commits) {
        const e = entry(c.name);
        e.checkpoint = { ...c.checkpoint };
        for (const [p, json] of c.partitions) e.partitions.set(p, json);
      }
    },
    reset: (name) => void entries.delete(name),
    close: () => entries.clear(),
  };
}
