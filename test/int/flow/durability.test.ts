import test from 'ava';
import { groupCommitFor } from '../../../src/store/sqlite/groupCommit.js';
import { startEngineOnFile } from '../../support/engineHarness.js';

/**
 * With synchronous=FULL every durable commit is an fsync. A flow's start, its exchange claim
 * and the grant's data key only need to be visible (their loss fails closed); the tokens with
 * the completion must be durable before success is reported, and their fsync covers the
 * earlier commits (WAL order). Observed on the real commits of a SQLite file (inline writer,
 * so the group commit reports on this thread) against the SDK's demo authorization server.
 */
test('a completed flow fsyncs once, at the commit that records its tokens and completion', async (t) => {
  const { h, store } = await startEngineOnFile(t, { writer: 'inline' });
  const { db } = store.sharedAccess();
  const typesAfter = db.prepare<[number], string>('SELECT type FROM events WHERE position > ? ORDER BY position').pluck();
  const head = db.prepare<[], number | null>('SELECT max(position) FROM events').pluck();
  const keys = db.prepare<[], number>('SELECT count(*) FROM data_keys').pluck();
  let seen = 0;
  const commits: Array<{ durable: boolean; types: string[]; keys: number }> = [];
  groupCommitFor(db).onCommitted(({ durable }) => {
    const types = typesAfter.all(seen);
    seen = head.get() ?? 0;
    commits.push({ durable, types, keys: keys.get()! });
  });

  t.true((await h.connect('warm-up', 'files')).ok); // registers the client
  commits.length = 0;
  const outcome = await h.connect('alice', 'files');
  t.true(outcome.ok);

  const durable = commits.filter((c) => c.durable);
  t.is(durable.length, 1, JSON.stringify(commits));
  t.is(commits.at(-1), durable[0], 'nothing is written after the durable commit');
  t.true(durable[0]!.types.includes('TokensIssued') && durable[0]!.types.includes('FlowCompleted'));
  const deferred = commits.slice(0, -1).flatMap((c) => c.types);
  t.true(deferred.includes('FlowInitiated') && deferred.includes('CodeExchangeStarted'), JSON.stringify(commits));
  t.true(commits[0]!.keys < durable[0]!.keys, 'the grant\'s data key was put in a deferred commit before the tokens');
});
