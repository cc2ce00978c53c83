import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../../../src/crypto/envelope.js';
import { createDataKeySealer } from '../../../src/crypto/dataKeySealer.js';
import { createSealer } from '../../../src/crypto/sealer.js';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { openDataKeyStore } from '../../../src/store/dataKeys/index.js';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { testKey } from '../../support/engineHarness.js';

const wrapped = (ct: string): Envelope => ({ v: 1, kid: 'k', iv: 'iv', ct, tag: 'tag' });

test('the SQLite data-key store keeps the first key, forgets destroyed ones for good, and is shared by connections', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'data-keys-'));
  const a = openDataKeyStore(`sqlite:${join(dir, 'events.db')}`);
  const b = openDataKeyStore(`sqlite:${join(dir, 'events.db')}`);
  t.teardown(() => { a.close(); b.close(); rmSync(dir, { recursive: true, force: true }); });

  t.true(await a.put('k1', wrapped('first')));
  t.false(await b.put('k1', wrapped('second')), 'the second creator is told it did not store its key');
  t.is((await b.get('k1'))?.ct, 'first', 'a concurrent creator reads the winner back');
  t.false(await a.isDestroyed('k1'));
  t.true(await b.destroy('k1'));
  t.is(await a.get('k1'), undefined);
  t.true(await a.isDestroyed('k1'));
  t.false(await a.put('k1', wrapped('again')));
  t.is(await a.get('k1'), undefined, 'a destroyed id is never re-created');
  t.false(await a.destroy('never-existed'));
  t.true(await a.isDestroyed('never-existed'));
});

test('the memory data-key store keeps the first key and never re-creates a destroyed id', async (t) => {
  const keys = openDataKeyStore('sqlite::memory:');
  t.true(await keys.put('k1', wrapped('first')));
  t.false(await keys.put('k1', wrapped('second')));
  t.is((await keys.get('k1'))?.ct, 'first');
  t.true(await keys.destroy('k1'));
  t.false(await keys.put('k1', wrapped('again')));
  t.is(await keys.get('k1'), undefined);
});

test('values sealed under a data key open until the key is shredded, then say KEY_SHREDDED', async (t) => {
  const keys = openDataKeyStore('sqlite::memory:');
  const sealer = createDataKeySealer(createSealer({ activeKey: testKey() }), keys);
  const sealed = await sealer.seal('grant-1.a', 'secret', 'grant-1:tokens');
  t.is(sealed.dk, 'grant-1.a');
  t.is(await sealer.open(sealed, 'grant-1:tokens'), 'secret');
  await t.throwsAsync(sealer.open(sealed, 'grant-2:tokens'), { instanceOf: EngineError }, 'bound to its context');
  t.true(await sealer.shred('grant-1.a'));
  const err = await t.throwsAsync(sealer.open(sealed, 'grant-1:tokens'), { instanceOf: EngineError });
  t.is(err.code, ErrorCode.KEY_SHREDDED);
  await t.throwsAsync(sealer.seal('grant-1.a', 'more', 'grant-1:tokens'), { instanceOf: EngineError }, 'no new secrets under a shredded key');
  t.throws(() => openDataKeyStore('esdb://localhost:2113'), { instanceOf: EngineError }, 'EventStoreDB cannot erase: a separate key store is required');
});

test('on the event store\'s own file the data-key store commits with the events and closes with the store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'data-keys-'));
  const path = join(dir, 'events.db');
  const store = await openEventStore(`sqlite:${path}`);
  t.teardown(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const keys = openDataKeyStore(`sqlite:${path}?synchronous=full`, { eventStore: store });
  const other = openDataKeyStore(`sqlite:${path}`);
  t.teardown(() => other.close());

  // Submitted in one turn: one group on the shared connection, both acknowledged after its COMMIT.
  await Promise.all([keys.put('k-shared', wrapped('shared')), store.appendToStream('grant-x', { type: 'Tested', data: {} })]);
  t.is((await other.get('k-shared'))?.ct, 'shared', 'another connection sees the committed key');
  t.true(await keys.destroy('k-shared'));
  t.true(await other.isDestroyed('k-shared'));

  keys.close();
  const after = await store.appendToStream('grant-x', { type: 'Tested', data: {} });
  t.is(after.nextExpectedRevision, 1n, 'closing the data keys leaves the event store open');
});

test('a discarded key (nothing sealed under it) is tombstoned like a shredded one and never re-created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'data-keys-'));
  const keys = openDataKeyStore(`sqlite:${join(dir, 'events.db')}`);
  t.teardown(() => { keys.close(); rmSync(dir, { recursive: true, force: true }); });
  const sealer = createDataKeySealer(createSealer({ activeKey: testKey() }), keys);
  await sealer.prepareKey('grant-1.unused');
  t.truthy(await keys.get('grant-1.unused'));
  t.true(await sealer.discard('grant-1.unused'));
  t.is(await keys.get('grant-1.unused'), undefined);
  t.true(await keys.isDestroyed('grant-1.unused'));
  await t.throwsAsync(sealer.seal('grant-1.unused', 'secret', 'grant-1:tokens'), { instanceOf: EngineError }, 'no secret is ever sealed under it later');
});
