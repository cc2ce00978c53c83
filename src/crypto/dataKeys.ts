import type { Envelope } from './envelope.js';

/**
 * Where per-grant data keys live, wrapped (sealed) by the master key ring. Destroying a
 * wrapped key makes every value sealed with it unrecoverable, even though the events holding
 * those values stay in the append-only log forever: crypto-shredding.
 */
export interface DataKeyStore {
  get(keyId: string): Promise<Envelope | undefined>;
  /**
   * Stores the wrapped key unless the id is taken (by a live key or a tombstone: a destroyed id
   * is never re-created); resolves whether this call stored it.
   */
  put(keyId: string, wrapped: Envelope): Promise<boolean>;
  /**
   * Forgets the wrapped key; returns whether it existed. `scrub: false` skips erasing the old
   * bytes from the store's files (for a key that never sealed anything: nothing to erase).
   */
  destroy(keyId: string, options?: { scrub?: boolean }): Promise<boolean>;
  /** True once `destroy` ran for this id (distinguishes shredded from never created). */
  isDestroyed(keyId: string): Promise<boolean>;
}

/** An in-memory {@link DataKeyStore} (tests, embedded single-process use). */
export function createMemoryDataKeyStore(): DataKeyStore {
  const keys = new Map<string, Envelope>();
  const destroyed = new Set<string>();
  return {
    get: async (id) => keys.get(id),
    put: async (id, wrapped) => {
      if (keys.has(id) || destroyed.has(id)) return false;
      keys.set(id, wrapped);
      return true;
    },
    destroy: async (id) => {
      destroyed.add(id);
      return keys.delete(id);
    },
    isDestroyed: async (id) => destroyed.has(id),
  };
}
