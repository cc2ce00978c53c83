import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `crypto.randomBytes(n)` for small n, drawn from a 4 KiB buffer refilled from the CSPRNG when
 * used up (the same trick Node's own `randomUUID` uses): one OpenSSL call per 4 KiB instead of
 * one per token or IV, which showed up in the hot path of a flow. Bytes handed out are copied
 * and wiped from the pool, so no value is ever given twice or left behind in the pool.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL_BYTES / 4) return randomFillSync(Buffer.alloc(n));
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
