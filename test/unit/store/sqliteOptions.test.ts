import test from 'ava';
import { parseSqliteConnectionString } from '../../../src/store/sqlite/sqliteOptions.js';

test('a sqlite connection string gives every option it names', (t) => {
  t.deepEqual(parseSqliteConnectionString('sqlite:./data/e.db?synchronous=NORMAL&pollIntervalMs=5&busyTimeoutMs=200&writer=inline&slowCommitMs=0'), {
    path: './data/e.db',
    synchronous: 'normal',
    pollIntervalMs: 5,
    busyTimeoutMs: 200,
    writer: 'inline',
    slowCommitMs: 0,
  });
  t.deepEqual(parseSqliteConnectionString('sqlite:///abs/e.db'), { path: '/abs/e.db' });
});

test('a bad sqlite option is refused with its key named', (t) => {
  for (const [query, key] of [
    ['slowCommitMs=-1', 'slowCommitMs'],
    ['slowCommitMs=', 'slowCommitMs'],
    ['slowCommitMs=1.5', 'slowCommitMs'],
    ['busyTimeoutMs=0', 'busyTimeoutMs'],
    ['writer=remote', 'writer'],
    ['fsync=off', 'fsync'],
  ] as const) {
    const err = t.throws(() => parseSqliteConnectionString(`sqlite:e.db?${query}`));
    t.like(err, { code: 'config_invalid' });
    t.true(err!.message.includes(key), `${query}: ${err!.message}`);
  }
});
