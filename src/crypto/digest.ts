import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, outputEncoding: 'hex' | 'base64url') => string;

/** `crypto.hash` (Node 20.12+, 21.7+); undefined on older runtimes the engine still supports. */
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/**
 * SHA-256 of a UTF-8 string, encoded. Why not `createHash().update().digest()`: that builds a
 * Hash object (and checks process options) per call, about three times the cost of the
 * one-shot `crypto.hash`, and a flow hashes a dozen short strings (state, binding secrets,
 * stream keys, cookie names) on the request path.
 */
export function sha256Of(value: string, encoding: 'hex' | 'base64url'): string {
  return oneShot ? oneShot('sha256', value, encoding) : crypto.createHash('sha256').update(value, 'utf8').digest(encoding);
}
