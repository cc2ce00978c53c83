import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isEngineError } from '../../../src/errors.js';
import {
  createDataKeySealer,
  createKeyRing,
  createMemoryDataKeyStore,
  isSealed,
  loadOrCreateDevKey,
  open,
  seal,
  type Envelope,
} from '../../../src/crypto/index.js';
import { createSealer } from '../../../src/crypto/sealer.js';

const key = (): string => randomBytes(32).toString('base64');
const AAD = 'flow-1:codeVerifier';

test('a sealed value opens to the plaintext in the same context', (t) => {
  const ring = createKeyRing({ activeKey: key() });
  const env = seal(ring, 'verifier-ü-🔑', AAD);
  t.true(isSealed(env));
  t.is(env.v, 1);
  t.is(env.kid, ring.active.kid);
  t.false(JSON.stringify(env).includes('verifier'));
  t.is(open(ring, env, AAD), 'verifier-ü-🔑');
});

test('two seals of the same plaintext differ (fresh IV)', (t) => {
  const ring = createKeyRing({ activeKey: key() });
  const a = seal(ring, 'x', AAD);
  const b = seal(ring, 'x', AAD);
  t.not(a.iv, b.iv);
  t.not(a.ct, b.ct);
});

test('an envelope moved to another stream or field does not open', (t) => {
  const ring = createKeyRing({ activeKey: key() });
  const env = seal(ring, 'secret', AAD);
  t.true(isEngineError(t.throws(() => open(ring, env, 'flow-2:codeVerifier')), 'decryption_failed'));
  t.true(isEngineError(t.throws(() => open(ring, env, 'flow-1:refreshToken')), 'decryption_failed'));
});

test('a tampered ciphertext, tag or iv does not open', (t) => {
  const ring = createKeyRing({ activeKey: key() });
  const env = seal(ring, 'secret value', AAD);
  const flip = (b64: string): string => {
    const buf = Buffer.from(b64, 'base64url');
    buf[0]! ^= 1;
    return buf.toString('base64url');
  };
  for (const field of ['ct', 'tag', 'iv'] as const) {
    t.true(isEngineError(t.throws(() => open(ring, { ...env, [field]: flip(env[field]) }, AAD)), 'decryption_failed'), field);
  }
});

test('an envelope from an unknown key is refused as key_unknown', (t) => {
  const env = seal(createKeyRing({ activeKey: key() }), 'secret', AAD);
  t.true(isEngineError(t.throws(() => open(createKeyRing({ activeKey: key() }), env, AAD)), 'key_unknown'));
});

test('after rotation old envelopes still open and new ones use the new key', (t) => {
  const oldKey = key();
  const before = seal(createKeyRing({ activeKey: oldKey }), 'old secret', AAD);
  const rotated = createKeyRing({ activeKey: key(), previousKeys: [oldKey] });
  t.is(open(rotated, before, AAD), 'old secret');
  const after = seal(rotated, 'new secret', AAD);
  t.not(after.kid, before.kid);
  t.true(isEngineError(t.throws(() => open(createKeyRing({ activeKey: oldKey }), after, AAD)), 'key_unknown'));
});

test('a key that is not 32 bytes is a configuration error', (t) => {
  t.true(isEngineError(t.throws(() => createKeyRing({ activeKey: randomBytes(16).toString('base64') })), 'config_invalid'));
});

test('isSealed recognises envelopes only', (t) => {
  t.false(isSealed('plain'));
  t.false(isSealed({ v: 2, kid: 'k', iv: '', ct: '', tag: '' }));
  t.false(isSealed(null));
});

test('values sealed with a destroyed data key are unrecoverable (key_shredded)', async (t) => {
  const activeKey = key();
  const ring = createKeyRing({ activeKey });
  const sealer = createDataKeySealer(createSealer({ activeKey }), createMemoryDataKeyStore());
  const env = await sealer.seal('grant-u1', 'refresh-token', 'grant-u1:refreshToken');
  t.is(env.dk, 'grant-u1');
  t.is(await sealer.open(env, 'grant-u1:refreshToken'), 'refresh-token');
  t.true(isEngineError(t.throws(() => open(ring, env as Envelope, 'grant-u1:refreshToken')), 'decryption_failed'), 'the ring key alone does not open it');
  t.true(await sealer.shred('grant-u1'));
  const err = await t.throwsAsync(sealer.open(env, 'grant-u1:refreshToken'));
  t.true(isEngineError(err, 'key_shredded'));
  t.true(isEngineError(await t.throwsAsync(sealer.seal('grant-u1', 'again', 'x')), 'key_shredded'));
});

test('the dev key file is created once with mode 0600 and reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'devkey-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [a, b] = await Promise.all([loadOrCreateDevKey(dir), loadOrCreateDevKey(dir)]);
  t.is(a.key, b.key, 'concurrent starts agree on one key');
  t.is([a.created, b.created].filter(Boolean).length, 1);
  t.is((await stat(a.path)).mode & 0o777, 0o600);
  const again = await loadOrCreateDevKey(dir);
  t.false(again.created);
  t.is(again.key, a.key);
  t.is(open(createKeyRing({ activeKey: again.key }), seal(createKeyRing({ activeKey: a.key }), 's', AAD), AAD), 's');
});

test('two sealers creating one data key at once both seal under the key that was stored', async (t) => {
  const master = createSealer({ activeKey: key() });
  const keys = createMemoryDataKeyStore();
  const a = createDataKeySealer(master, keys);
  const b = createDataKeySealer(master, keys);
  // Both look the key up before either stores one: the second put is refused and reads back.
  const [fromA, fromB] = await Promise.all([a.seal('grant-u2', 'from-a', AAD), b.seal('grant-u2', 'from-b', AAD)]);
  t.is(await b.open(fromA, AAD), 'from-a');
  t.is(await a.open(fromB, AAD), 'from-b');
  t.true(await a.shred('grant-u2'));
  t.true(isEngineError(await t.throwsAsync(b.open(fromA, AAD)), 'key_shredded'));
});

test('a key prepared by this sealer is sealed under without reading it back or unwrapping it; a discarded one is not', async (t) => {
  const sealer0 = createSealer({ activeKey: key() });
  let unwraps = 0;
  const master = { ...sealer0, open: (sealed: Parameters<typeof sealer0.open>[0], aad: string) => (unwraps++, sealer0.open(sealed, aad)) };
  const store = createMemoryDataKeyStore();
  let gets = 0;
  const sealer = createDataKeySealer(master, { ...store, get: (id) => (gets++, store.get(id)) });
  await sealer.prepareKey('grant-u3.k1');
  t.is(gets, 0, 'a freshly drawn id is stored without a lookup');
  const sealed = await sealer.seal('grant-u3.k1', 'tokens', AAD);
  t.is(gets, 0, 'the seal used the key it had just stored');
  t.is(unwraps, 0, 'the key it had just created, not unwrapped again');
  t.is(await sealer.open(sealed, AAD), 'tokens');
  t.is(unwraps, 1, 'opening reads and unwraps the stored key');

  await sealer.prepareKey('grant-u3.k2');
  t.true(await sealer.discard('grant-u3.k2'));
  t.true(isEngineError(await t.throwsAsync(sealer.seal('grant-u3.k2', 'late', AAD)), 'key_shredded'));

  await sealer.prepareKey('grant-u3.k3');
  t.true(await sealer.shred('grant-u3.k3'));
  t.true(isEngineError(await t.throwsAsync(sealer.seal('grant-u3.k3', 'late', AAD)), 'key_shredded'), 'a shred drops the held key too');
});

test('a key discarded or shredded while prepareKey is still storing it is not sealed under afterwards', async (t) => {
  const master = createSealer({ activeKey: key() });
  const sealer = createDataKeySealer(master, createMemoryDataKeyStore());
  for (const [id, destroy] of [['grant-u6.k1', (k: string) => sealer.discard(k)], ['grant-u6.k2', (k: string) => sealer.shred(k)]] as const) {
    const preparing = sealer.prepareKey(id);
    const destroyed = destroy(id);
    await Promise.all([preparing, destroyed]);
    t.true(isEngineError(await t.throwsAsync(sealer.seal(id, 'late', AAD)), 'key_shredded'), id);
  }
});

test('two seals under one key, one of them creating it, both seal under the stored key', async (t) => {
  const master = createSealer({ activeKey: key() });
  const store = createMemoryDataKeyStore();
  const sealer = createDataKeySealer(master, store);
  const other = createDataKeySealer(master, store);
  // Neither finds the key: both create one, the store keeps the first, the second reads it back.
  const sealed = await Promise.all([sealer.seal('grant-u5', 'one', AAD), sealer.seal('grant-u5', 'two', AAD), sealer.seal('grant-u5', 'three', AAD)]);
  t.deepEqual(await Promise.all(sealed.map((s) => other.open(s, AAD))), ['one', 'two', 'three']);
});

test('two sealers preparing one key id at once seal under the one that was stored', async (t) => {
  const master = createSealer({ activeKey: key() });
  const keys = createMemoryDataKeyStore();
  const a = createDataKeySealer(master, keys);
  const b = createDataKeySealer(master, keys);
  // Neither looks up first: the second put is refused and reads the winner back.
  await Promise.all([a.prepareKey('grant-u4'), b.prepareKey('grant-u4')]);
  const [fromA, fromB] = await Promise.all([a.seal('grant-u4', 'from-a', AAD), b.seal('grant-u4', 'from-b', AAD)]);
  t.is(await b.open(fromA, AAD), 'from-a');
  t.is(await a.open(fromB, AAD), 'from-b');
  t.true(await a.discard('grant-u4'));
  t.true(isEngineError(await t.throwsAsync(b.prepareKey('grant-u4')), 'key_shredded'), 'a tombstoned id is not created again');
});
