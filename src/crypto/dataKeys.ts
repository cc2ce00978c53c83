import { randomBytes, createHash } from 'node:crypto';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { open, openWithKey, seal, sealWithKey, type Envelope } from './envelope.js';
import type { KeyRing } from './keyRing.js';

/**
 * Where per-grant data keys live, wrapped (sealed) by the master key ring. Destroying a
 * wrapped key makes every value sealed with it unrecoverable, even though the events holding
 * those values stay in the append-only log forever: crypto-shredding.
 */
export interface DataKeyStore {
  get(keyId: string): Promise<Envelope | undefined>;
  put(keyId: string, wrapped: Envelope): Promise<void>;
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
      keys.set(id, wrapped);
      destroyed.delete(id);
    },
    destroy: async (id) => {
      destroyed.add(id);
      return keys.delete(id);
    },
    isDestroyed: async (id) => destroyed.has(id),
  };
}

const wrapAad = (keyId: string): string => `data-key:${keyId}`;

/**
 * Seals `plaintext` under the data key `keyId` (e.g. a grant stream id), creating and wrapping
 * that key on first use. The envelope carries `dk` = `keyId`.
 */
export async function sealWithDataKey(
  keyRing: KeyRing,
  store: DataKeyStore,
  keyId: string,
  plaintext: string,
  aad: string,
): Promise<Envelope> {
  let wrapped = await store.get(keyId);
  if (!wrapped) {
    if (await store.isDestroyed(keyId)) throw shredded(keyId);
    wrapped = seal(keyRing, randomBytes(32).toString('base64url'), wrapAad(keyId));
    await store.put(keyId, wrapped);
  }
  const entry = unwrap(keyRing, keyId, wrapped);
  return { ...sealWithKey(entry, plaintext, aad), dk: keyId };
}

/** Opens a data-key envelope; `KEY_SHREDDED` once its data key was destroyed. */
export async function openWithDataKey(keyRing: KeyRing, store: DataKeyStore, envelope: Envelope, aad: string): Promise<string> {
  const keyId = envelope.dk;
  if (keyId === undefined) return open(keyRing, envelope, aad);
  const wrapped = await store.get(keyId);
  if (!wrapped) throw shredded(keyId);
  return openWithKey(unwrap(keyRing, keyId, wrapped), envelope, aad);
}

/** Destroys a data key: everything sealed with it becomes unrecoverable. */
export async function shredDataKey(store: DataKeyStore, keyId: string): Promise<boolean> {
  return store.destroy(keyId);
}

function unwrap(keyRing: KeyRing, keyId: string, wrapped: Envelope): { kid: string; key: Buffer } {
  const key = Buffer.from(open(keyRing, wrapped, wrapAad(keyId)), 'base64url');
  // The data key's kid is derived like a ring key's, so envelopes say which key sealed them.
  return { kid: createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url'), key };
}

function shredded(keyId: string): EngineError {
  return new EngineError(ErrorCode.KEY_SHREDDED, `data key ${quote(keyId)} was destroyed`, { details: { keyId } });
}
