import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pooledRandomBytes } from './randomPool.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import type { KeyEntry, KeyRing } from './keyRing.js';

/**
 * A sealed value as stored in events: AES-256-GCM, every binary field base64url.
 * `kid` names the key-ring key; `dk` (when present) names the per-grant data key that sealed
 * it instead (crypto-shredding, see `dataKeys.ts`).
 */
// A type alias (not an interface) so it fits record-shaped event schemas.
export type Envelope = {
  v: 1;
  kid: string;
  iv: string;
  ct: string;
  tag: string;
  dk?: string;
};

const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit IVs for GCM
const TAG_BYTES = 16;

/**
 * Seals `plaintext` with the ring's active key. `aad` binds the envelope to where it lives
 * (e.g. `flow-123:codeVerifier`): GCM authenticates it, so an envelope copied into another
 * stream or field fails to open.
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf
 */
export function seal(keyRing: KeyRing, plaintext: string, aad: string): Envelope {
  return sealWithKey(keyRing.active, plaintext, aad);
}

/** Opens an envelope sealed by a key of the ring. Throws `KEY_UNKNOWN` / `DECRYPTION_FAILED`. */
export function open(keyRing: KeyRing, envelope: Envelope, aad: string): string {
  assertEnvelope(envelope);
  if (envelope.dk !== undefined) {
    throw new EngineError(ErrorCode.DECRYPTION_FAILED, 'envelope is sealed with a data key: open it with its DataKeySealer', {
      details: { kid: envelope.kid },
    });
  }
  const entry = keyRing.get(envelope.kid);
  if (!entry) {
    throw new EngineError(ErrorCode.KEY_UNKNOWN, `no key ${quote(envelope.kid)} in the key ring`, { details: { kid: envelope.kid } });
  }
  return openWithKey(entry, envelope, aad);
}

/** True when `value` has the shape of an {@link Envelope} (it says nothing about the key). */
export function isSealed(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.v === 1 && typeof v.kid === 'string' && typeof v.iv === 'string' && typeof v.ct === 'string' && typeof v.tag === 'string';
}

/** @internal AES-256-GCM under one explicit key (ring key or data key). */
export function sealWithKey(entry: KeyEntry, plaintext: string, aad: string): Envelope {
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { v: 1, kid: entry.kid, iv: iv.toString('base64url'), ct: ct.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') };
}

/** @internal */
export function openWithKey(entry: KeyEntry, envelope: Envelope, aad: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(envelope.iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    // Wrong key, wrong context or tampering look the same on purpose.
    throw new EngineError(ErrorCode.DECRYPTION_FAILED, 'sealed value does not open (wrong context or tampered)', {
      details: { kid: envelope.kid },
    });
  }
}

function assertEnvelope(envelope: unknown): asserts envelope is Envelope {
  if (!isSealed(envelope)) {
    throw new EngineError(ErrorCode.DECRYPTION_FAILED, 'not a sealed envelope (unknown version or shape)');
  }
}
