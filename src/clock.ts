import { pooledRandomBytes } from './crypto/randomPool.js';

/** Time is injected everywhere so deciders stay pure and tests can move it. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** Randomness is injected for the same reason. */
export interface Random {
  /** URL-safe random token of `bytes` bytes. */
  token(bytes?: number): string;
  /**
   * A unique, unguessable UUID. The system's is time-ordered ({@link timeOrderedId}) and takes
   * its time from the wall clock, not from an injected {@link Clock}: the time only orders ids.
   */
  uuid(): string;
}
export const systemRandom: Random = {
  token: (bytes = 32) => pooledRandomBytes(bytes).toString('base64url'),
  uuid: () => timeOrderedId(),
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random bits. Ids drawn for
 * event ids (the store's, and those set by the engine for idempotent re-appends) land at the
 * right end of the `event_id` index, so an append dirties the page the previous one did
 * instead of a random page: fewer pages for each commit to write and for its fsync to flush.
 * The ids stay unguessable (74 random bits) and unique; they reveal only the millisecond they
 * were drawn, which an event's metadata carries anyway.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9562#section-5.7
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  const b = pooledRandomBytes(16);
  // 48-bit big-endian timestamp (a JS number holds it exactly; bit operations would truncate to 32).
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  return (
    HEX[b[0]!]! + HEX[b[1]!]! + HEX[b[2]!]! + HEX[b[3]!]! + '-' +
    HEX[b[4]!]! + HEX[b[5]!]! + '-' + HEX[b[6]!]! + HEX[b[7]!]! + '-' +
    HEX[b[8]!]! + HEX[b[9]!]! + '-' +
    HEX[b[10]!]! + HEX[b[11]!]! + HEX[b[12]!]! + HEX[b[13]!]! + HEX[b[14]!]! + HEX[b[15]!]!
  );
}
