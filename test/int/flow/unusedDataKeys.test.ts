import BetterSqlite3 from 'better-sqlite3';
import test from 'ava';
import { startEngineOnFile } from '../../support/engineHarness.js';

/**
 * The callback prepares the grant's data key while its exchange claim commits. Against a real
 * authorization server and a real SQLite file: a completed flow keeps exactly its key, while a
 * failed exchange and a duplicate callback leave no live key behind (only tombstones).
 */
test('a prepared data key survives only when tokens were sealed under it', async (t) => {
  const { h, path, peers } = await startEngineOnFile(t);
  const liveKeys = () => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      return db.prepare('SELECT key_id FROM data_keys WHERE wrapped IS NOT NULL').all().length;
    } finally {
      db.close();
    }
  };

  const failed = await h.authorize('mallory', 'files');
  const outcome = await h.callback('files', { ...failed.callback, code: 'not-a-code-the-as-issued' }, failed.started.bindingSecret);
  t.false(outcome.ok);
  t.is(liveKeys(), 0, 'a failed exchange sealed nothing, so its key is gone');

  const ok = await h.authorize('alice', 'files');
  const [first, second] = await Promise.all([
    h.callback('files', ok.callback, ok.started.bindingSecret),
    h.callback('files', ok.callback, ok.started.bindingSecret),
  ]);
  t.true(first.ok && second.ok, 'the duplicate callback reports the claimant\'s outcome');
  t.is(liveKeys(), 1, 'one key: the one the tokens were sealed under');
  t.is(peers.tokenRequests(), 2, 'one token request per flow (the failed one included)');
  t.truthy(await h.engine.getAccessToken('alice', 'files'), 'the grant opens with the key that was kept');
});
