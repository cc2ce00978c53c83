import { randomUUID } from 'node:crypto';
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
  uuid(): string;
}
export const systemRandom: Random = {
  token: (bytes = 32) => pooledRandomBytes(bytes).toString('base64url'),
  uuid: () => randomUUID(),
};
