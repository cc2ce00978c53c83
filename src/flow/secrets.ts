import { timingSafeEqual } from 'node:crypto';
import { sha256Of } from '../crypto/digest.js';

/** SHA-256, base64url: how `state`, binding secrets and codes are recorded in events. */
export const sha256 = (value: string): string => sha256Of(value, 'base64url');

/** Constant-time comparison of two recorded hashes. */
export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `state` = `<flowId>.<secret>`: the callback finds its flow without a separate state → flow
 * mapping (which the reference application never cleans up), and the hash recorded at
 * initiation proves the state was issued by us.
 */
export function composeState(flowId: string, secret: string): string {
  return `${flowId}.${secret}`;
}

export function parseState(state: string): { flowId: string } | null {
  const m = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{32,128})$/.exec(state);
  return m ? { flowId: m[1]! } : null;
}
