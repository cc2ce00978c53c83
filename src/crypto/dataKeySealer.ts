import { EngineError, ErrorCode, quote } from '../errors.js';
import type { Sealer } from '../flow/deps.js';
import type { SealedValue } from '../flow/sealed.js';
import type { DataKeyStore } from './dataKeys.js';
import { openWithKey, sealWithKey, type Envelope } from './envelope.js';
import { entryOf, type KeyEntry } from './keyRing.js';
import { pooledRandomBytes } from './randomPool.js';

/**
 * Seals values under per-grant data keys so that one grant's secrets can be destroyed without
 * touching the append-only log (crypto-shredding). The data key itself is wrapped by the
 * engine's {@link Sealer} (the master key ring) and kept in a {@link DataKeyStore}, the one
 * mutable, erasable place; envelopes carry `dk` = the data key id.
 */
export interface DataKeySealer {
  /**
   * Creates the data key `keyId` now if it does not exist (durable once resolved), so that a
   * later `seal` finds it: lets a caller create the key while other writes commit.
   */
  prepareKey(keyId: string): Promise<void>;
  seal(keyId: string, plaintext: string, aad: string): Promise<SealedValue>;
  /** `KEY_SHREDDED` once the envelope's data key was destroyed. */
  open(sealed: SealedValue, aad: string): Promise<string>;
  /** Destroys a data key; resolves whether it existed. Idempotent. */
  shred(keyId: string): Promise<boolean>;
  /**
   * Destroys a prepared key nothing was sealed under: tombstoned like a shredded one, without
   * the scrub of the store's files a shred pays for (there is no secret to erase).
   */
  discard(keyId: string): Promise<boolean>;
}

const wrapAad = (keyId: string): string => `data-key:${keyId}`;
const MAX_PREPARED = 1024;

/**
 * A {@link DataKeySealer} over the master {@link Sealer} and a {@link DataKeyStore}. A key is
 * created on first use; when two processes create the same id at once, the store keeps the
 * first, and the loser reads the winner's key back before sealing, so nothing is ever sealed
 * under a key that was not stored. Opening always reads the store: after a shred, no replica
 * can open anything sealed with it.
 *
 * A key this sealer has just created and stored with `prepareKey` is kept, unwrapped, for the
 * next `seal` under it (the callback's tokens, milliseconds later), which then neither reads
 * it back nor unwraps it: the store would answer with the envelope of that very key. Were the
 * key shredded in between, the values sealed under it are as unreadable as if they had been
 * sealed a moment earlier. Only such keys are held, until their seal, a shred or a discard
 * (one that lands while the key is still being stored included), at most
 * {@link MAX_PREPARED} (oldest dropped). Every unwrapped key is zeroed once used or
 * dropped, so key material outlives its use only in the garbage collector's copies.
 */
export function createDataKeySealer(master: Sealer, keys: DataKeyStore): DataKeySealer {
  /** Keys this sealer created with `prepareKey` and has not sealed under yet. */
  const prepared = new Map<string, KeyEntry>();
  /** Takes a held key out (the caller then owns it, and zeroes it). */
  const take = (keyId: string): KeyEntry | undefined => {
    const entry = prepared.get(keyId);
    prepared.delete(keyId);
    return entry;
  };
  /** Ids whose `prepareKey` is storing its key now: true once a shred or discard came meanwhile. */
  const storing = new Map<string, boolean>();
  /** A shred or discard: the held key goes, and so does one still being stored. */
  const drop = (keyId: string): void => {
    take(keyId)?.key.fill(0);
    if (storing.has(keyId)) storing.set(keyId, true);
  };
  const unwrap = (keyId: string, wrapped: Envelope): KeyEntry => entryOf(Buffer.from(master.open(wrapped, wrapAad(keyId)), 'base64url'));
  /**
   * The stored key, created first when missing; the first creator's wins. A put refused
   * because the id is taken reads the winner back (absent: a tombstone, the key was destroyed).
   * `fresh`: the id was just drawn (`prepareKey`), so looking it up first would only miss; the
   * key is then held for the seal, and nothing is returned. Otherwise the caller owns the key.
   */
  async function ensureKey(keyId: string, fresh: true): Promise<undefined>;
  async function ensureKey(keyId: string, fresh?: false): Promise<KeyEntry>;
  async function ensureKey(keyId: string, fresh = false): Promise<KeyEntry | undefined> {
    if (!fresh) {
      const stored = await keys.get(keyId);
      if (stored) return unwrap(keyId, stored);
    }
    const key = pooledRandomBytes(32);
    let stored = false;
    // Destroyed while its put was in flight: holding it would let a seal use a dead key.
    let destroyed = false;
    if (fresh) storing.set(keyId, false);
    try {
      stored = await keys.put(keyId, master.seal(key.toString('base64url'), wrapAad(keyId)) as Envelope);
    } finally {
      if (fresh) {
        destroyed = storing.get(keyId) === true;
        storing.delete(keyId);
      }
      if (!stored || destroyed) key.fill(0);
    }
    if (stored) {
      if (!fresh) return entryOf(key);
      if (!destroyed) {
        prepared.set(keyId, entryOf(key));
        if (prepared.size > MAX_PREPARED) take(prepared.keys().next().value!)!.key.fill(0);
      }
      return undefined;
    }
    const winner = await keys.get(keyId);
    if (!winner) throw shredded(keyId);
    if (fresh) return undefined;
    return unwrap(keyId, winner);
  }
  return {
    prepareKey: (keyId) => ensureKey(keyId, true),
    async seal(keyId, plaintext, aad) {
      // Taken out in the same turn as it is used: no other seal can zero it meanwhile.
      const entry = take(keyId) ?? (await ensureKey(keyId));
      try {
        return { ...sealWithKey(entry, plaintext, aad), dk: keyId };
      } finally {
        entry.key.fill(0);
      }
    },
    async open(sealed, aad) {
      const envelope = sealed as Envelope;
      if (typeof envelope.dk !== 'string') return master.open(sealed, aad);
      const wrapped = await keys.get(envelope.dk);
      if (!wrapped) throw shredded(envelope.dk);
      const entry = unwrap(envelope.dk, wrapped);
      try {
        return openWithKey(entry, envelope, aad);
      } finally {
        entry.key.fill(0);
      }
    },
    shred: (keyId) => {
      drop(keyId);
      return keys.destroy(keyId);
    },
    discard: (keyId) => {
      drop(keyId);
      return keys.destroy(keyId, { scrub: false });
    },
  };
}

function shredded(keyId: string): EngineError {
  return new EngineError(ErrorCode.KEY_SHREDDED, `data key ${quote(keyId)} was destroyed`, { details: { keyId } });
}
