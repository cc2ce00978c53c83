/**
 * Redaction of event data for audit output. The log never holds plaintext secrets (they are
 * sealed), but the audit view is shown to operators and flow owners, so it goes further:
 * sealed envelopes, hashes of secrets and anything under a secret-sounding key are replaced
 * by markers. Ciphertext is not a secret on its own, yet printing it invites copying it
 * around, and hashes of low-entropy values (codes) are guessable offline.
 */

export const SEALED_MARKER = '[sealed]';
export const HASH_MARKER = '[hash]';
export const REDACTED_MARKER = '[redacted]';

/** Keys whose values are secrets in any payload shape, sealed or not (defence in depth). */
const SECRET_KEYS = /^(client_?secret|code_?verifier|access_?token|refresh_?token|id_?token|tokens?|code|state|password|secret|binding_?secret|authorization_?url)$/i;

/** The shape `src/flow/sealed.ts` accepts: an object with a numeric `v` and a string `kid`. */
function looksSealed(value: object): boolean {
  const v = value as Record<string, unknown>;
  return typeof v.v === 'number' && typeof v.kid === 'string';
}

/** A deep copy of `value` with every secret replaced by a marker. Never mutates its input. */
export function redactData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactData);
  if (value === null || typeof value !== 'object') return value;
  if (looksSealed(value)) return SEALED_MARKER;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && looksSealed(v)) out[key] = SEALED_MARKER;
    else if (/Hash$/.test(key) || /^hash$/i.test(key)) out[key] = HASH_MARKER;
    else if (SECRET_KEYS.test(key)) out[key] = REDACTED_MARKER;
    else out[key] = redactData(v);
  }
  return out;
}
