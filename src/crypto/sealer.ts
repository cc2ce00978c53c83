import type { Sealer } from '../flow/deps.js';
import { createKeyRing, open, seal, type KeyRingConfig } from './index.js';

/**
 * The flow core's {@link Sealer} over the key ring: AES-256-GCM with the context string as
 * additional authenticated data, so a sealed value only opens where it was sealed.
 */
export function createSealer(config: KeyRingConfig): Sealer {
  const ring = createKeyRing(config);
  return {
    seal: (plaintext, aad) => seal(ring, plaintext, aad),
    open: (sealed, aad) => open(ring, sealed as Parameters<typeof open>[1], aad),
  };
}
