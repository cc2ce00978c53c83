import { createHash } from 'node:crypto';
import { EngineError, ErrorCode } from '../errors.js';

/** One AES-256 key with its id. */
export interface KeyEntry {
  kid: string;
  key: Buffer;
}

/**
 * Key-ring configuration: `ENCRYPTION_KEY` (base64 of 32 bytes) is the active key; older keys
 * stay listed so values sealed before a rotation still open.
 */
export interface KeyRingConfig {
  /** Base64 (or base64url) of exactly 32 bytes. */
  activeKey: string;
  /** Keys retired by rotation, base64 each; decrypt only. */
  previousKeys?: readonly string[];
}

/** Several keys, one active for sealing, all usable for opening (looked up by `kid`). */
export interface KeyRing {
  readonly active: KeyEntry;
  get(kid: string): KeyEntry | undefined;
}

/**
 * Decodes a configured key and derives its id: the first 8 bytes of SHA-256 over the key,
 * base64url. The id is stable across restarts and reveals nothing useful about the key.
 */
export function keyEntry(base64: string): KeyEntry {
  const key = Buffer.from(base64.trim(), base64.includes('-') || base64.includes('_') ? 'base64url' : 'base64');
  if (key.length !== 32) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, `ENCRYPTION_KEY must be base64 of 32 bytes (got ${key.length})`, {
      details: { key: 'ENCRYPTION_KEY' },
    });
  }
  return entryOf(key);
}

/** A raw 32-byte key with its id (`kid`: the first 8 bytes of its SHA-256, base64url). */
export function entryOf(key: Buffer): KeyEntry {
  return { kid: createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url'), key };
}

/** Builds the key ring: the active key seals, every listed key opens. */
export function createKeyRing(config: KeyRingConfig): KeyRing {
  const active = keyEntry(config.activeKey);
  const byKid = new Map<string, KeyEntry>([[active.kid, active]]);
  for (const old of config.previousKeys ?? []) {
    const entry = keyEntry(old);
    if (!byKid.has(entry.kid)) byKid.set(entry.kid, entry);
  }
  return { active, get: (kid) => byKid.get(kid) };
}
