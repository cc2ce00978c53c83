import { z } from 'zod';

/**
 * A sealed secret as it appears inside event data: an AES-256-GCM envelope produced by
 * `src/crypto` (`{ v, kid, iv, ct, tag, ... }`). Events never hold the plaintext of
 * verifiers, client secrets or tokens; the schema only checks the envelope's shape so that
 * a plaintext string can never be stored where a sealed value belongs.
 */
export const SealedSchema = z.looseObject({
  v: z.number().int().positive(),
  kid: z.string().min(1),
});
export type SealedValue = z.infer<typeof SealedSchema>;
