import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { migrate, SCHEMA_VERSION } from '../../../src/store/sqlite/migrations.js';
import { openSqliteEventStore } from '../../../src/store/sqlite/sqliteEventStore.js';
import { runStoreChild } from '../../support/spawnStoreChild.js';
import { collect, consume, within } from '../../support/storeContract/harness.js';
import { tempFile } from '../../support/tempFile.js';

test('a file store runs in WAL with synchronous FULL unless told otherwise', async (t) => {
  const store = openSqliteEventStore({ path: await tempFile(t) });
  t.teardown(() => store.close());
  t.like(store.settings(), { journalMode: 'wal', synchronous: 'full', schemaVersion: SCHEMA_VERSION });
  t.true(store.settings().busyTimeoutMs > 0);
});

test('synchronous=normal in the connection string is applied to the connection', async (t) => {
  const file = await tempFile(t);
  const store = await openEventStore(`sqlite:${file}?synchronous=normal`);
  t.teardown(() => store.close());
  t.like((store as ReturnType<typeof openSqliteEventStore>).settings(), { journalMode: 'wal', synchronous: 'normal' });
});

test('bad sqlite options and unknown schemes are configuration errors', async (t) => {
  await t.throwsAsync(openEventStore('sqlite:./x.db?synchronous=off'), { code: 'config_invalid' });
  await t.throwsAsync(openEventStore('sqlite:./x.db?cache=big'), { code: 'config_invalid' });
  const writer = await t.throwsAsync(openEventStore('sqlite:./x.db?writer=fast'), { code: 'config_invalid' });
  t.regex(writer!.message, /writer must be "thread" or "inline", got "fast"/);
  await t.throwsAsync(openEventStore('sqlite:'), { code: 'config_invalid' });
  const err = await t.throwsAsync(openEventStore('postgres://user:secret@db/x'), { code: 'config_invalid' });
  t.false(err!.message.includes('secret'), 'credentials are not echoed');
  t.false(existsSync('./x.db'));
});

test('opening a path in a missing folder creates the folder', async (t) => {
  const file = join(await tempFile(t, 'nested'), 'deeper', 'events.db');
  const store = await openEventStore(`sqlite:${file}`);
  await store.appendToStream('flow-1', { type: 'T', data: {} });
  await store.close();
  t.true(existsSync(file));
});

test('a schema-version-1 file is migrated with its events intact', async (t) => {
  const file = await tempFile(t);
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  migrate(old, 1);
  const insert = old.prepare(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  insert.run('flow-old', 0, '00000000-0000-4000-8000-000000000001', 'FlowInitiated', '{"v":1}', '{}', 1_700_000_000_000);
  insert.run('flow-old', 1, '00000000-0000-4000-8000-000000000002', 'FlowCompleted', '{"v":2}', '{}', 1_700_000_000_001);
  t.is(old.pragma('user_version', { simple: true }), 1);
  old.close();

  const store = openSqliteEventStore({ path: file });
  t.teardown(() => store.close());
  t.is(store.settings().schemaVersion, SCHEMA_VERSION);
  const events = await collect(store.readStream('flow-old'));
  t.deepEqual(events.map((e) => [e.revision, e.type, e.data]), [
    [0n, 'FlowInitiated', { v: 1 }],
    [1n, 'FlowCompleted', { v: 2 }],
  ]);
  t.deepEqual(events[0]!.created, new Date(1_700_000_000_000));
  // Version 2 brought unique ids: the old id now counts as already stored.
  await t.throwsAsync(
    store.appendToStream('flow-other', { id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {} }),
    { code: 'duplicate_event_id' },
  );
});

test('a file written by a newer schema version is refused, not misread', async (t) => {
  const file = await tempFile(t);
  const future = new Database(file);
  future.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  future.close();
  await t.throwsAsync(openEventStore(`sqlite:${file}`), { code: 'future_schema_version' });
});

test('an append of an empty batch is rejected', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  t.teardown(() => store.close());
  await t.throwsAsync(store.appendToStream('flow-1', []), { code: 'invalid_argument' });
  t.is(await store.headPosition(), null);
});

test('in-memory stores are private to each open', async (t) => {
  const a = await openEventStore('sqlite::memory:');
  const b = await openEventStore('sqlite::memory:');
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await a.appendToStream('flow-1', { type: 'T', data: {} });
  t.is(await b.headPosition(), null);
});

test('a live subscription sees events that another process appends to the same file', async (t) => {
  const file = await tempFile(t);
  const store = await openEventStore(`sqlite:${file}`);
  t.teardown(() => store.close());
  await store.appendToStream('local-1', { type: 'Local', data: {} });
  const sub = store.subscribeToAll({ filter: { streamPrefixes: ['child-'] } });
  const reader = consume(sub);
  await within(sub.caughtUp, 5000, 'caughtUp');
  t.is(reader.seen.length, 0);
  await runStoreChild(['append', file, 'child-1', '5']);
  const got = await reader.until(5, 10_000);
  t.deepEqual(got.map((e) => (e.data as { i: number }).i), [0, 1, 2, 3, 4]);
  t.true(got.every((e) => e.type === 'FromChild'));
  await sub.unsubscribe();
});

test('two stores on one file see each other: reads at once, subscriptions within the poll interval', async (t) => {
  const file = await tempFile(t);
  const writer = openSqliteEventStore({ path: file });
  const reader = openSqliteEventStore({ path: file, pollIntervalMs: 5 });
  t.teardown(async () => {
    await writer.close();
    await reader.close();
  });
  const sub = reader.subscribeToAll({ fromPosition: 'end' });
  const live = consume(sub);
  const { position } = await writer.appendToStream('flow-1', { type: 'T', data: { x: 1 } });
  t.deepEqual(await reader.headPosition(), position);
  const [event] = await live.until(1);
  t.deepEqual(event!.position, position);
  await sub.unsubscribe();
});

test('appends made together commit together, and a conflict or bad id fails only its own append', async (t) => {
  const store = openSqliteEventStore({ path: await tempFile(t) });
  t.teardown(() => store.close());
  const ev = (type: string, id?: string) => ({ type, data: { n: type }, ...(id ? { id } : {}) });
  await store.appendToStream('s-1', ev('A'));
  const sharedId = '4e1b9f3a-2a67-4c1e-9d1f-0c3a3b8f7a11';
  const [ok1, stale, ok2, dup, retry] = await Promise.allSettled([
    store.appendToStream('s-2', ev('B', sharedId), { expectedRevision: 'no_stream' }),
    store.appendToStream('s-1', ev('C'), { expectedRevision: 'no_stream' }),
    store.appendToStream('s-1', ev('D'), { expectedRevision: 0n }),
    store.appendToStream('s-3', ev('E', sharedId)),
    store.appendToStream('s-2', ev('B', sharedId), { expectedRevision: 'no_stream' }),
  ]);
  t.is(ok1.status, 'fulfilled');
  t.like(stale, { status: 'rejected', reason: { code: 'wrong_expected_version' } });
  t.like(ok2, { status: 'fulfilled', value: { nextExpectedRevision: 1n } });
  t.like(dup, { status: 'rejected', reason: { code: 'duplicate_event_id' } });
  // A retry of an append made earlier in the same group answers with the original result.
  t.deepEqual((retry as PromiseFulfilledResult<unknown>).value, (ok1 as PromiseFulfilledResult<unknown>).value);
  t.deepEqual((await collect(store.readAll())).map((e) => `${e.streamId}:${e.type}`), ['s-1:A', 's-2:B', 's-1:D']);
});

test('closing the store commits appends already accepted', async (t) => {
  const file = await tempFile(t);
  const store = openSqliteEventStore({ path: file });
  const pending = store.appendToStream('s-1', { type: 'A', data: {} });
  await store.close();
  await t.notThrowsAsync(pending);
  const again = openSqliteEventStore({ path: file });
  t.teardown(() => again.close());
  t.is((await collect(again.readAll())).length, 1);
});
