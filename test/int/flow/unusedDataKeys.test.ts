import BetterSqlite3 from 'better-sqlite3';
import test from 'ava';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { WrongExpectedVersionError } from '../../../src/store/errors.js';
import type { EventStore } from '../../../src/store/types.js';
import { startEngineOnFile } from '../../support/engineHarness.js';

const liveKeysIn = (path: string): number => {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return db.prepare('SELECT key_id FROM data_keys WHERE wrapped IS NOT NULL').all().length;
  } finally {
    db.close();
  }
};

/**
 * The callback prepares the grant's data key while its exchange claim commits. Against a real
 * authorization server and a real SQLite file: a completed flow keeps exactly its key, while a
 * failed exchange and a duplicate callback leave no live key behind (only tombstones).
 */
test('a prepared data key survives only when tokens were sealed under it', async (t) => {
  const { h, path, peers } = await startEngineOnFile(t);
  const liveKeys = () => liveKeysIn(path);

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

/**
 * The store misbehaves where a callback has prepared its data key but not yet claimed: the fast
 * path's claim meets a conflict (nothing appended) and the read after it fails; then, on the
 * read path, the claim itself fails; then recording a refused code fails. The prepared key must
 * not stay behind, live and unused, and the key of a grant is kept.
 */
test('a callback whose claim fails leaves no live data key', async (t) => {
  let fault: 'conflict' | 'read' | 'claim' | 'refusal' | 'done' = 'done';
  const wrapStore = (store: EventStore): EventStore =>
    new Proxy(store, {
      get(target, prop) {
        if (prop === 'appendToStream') {
          return (stream: string, events: Array<{ type: string }>, options: unknown) => {
            if (fault === 'conflict' && events.some((e) => e.type === 'CodeExchangeStarted')) {
              fault = 'read';
              return Promise.reject(new WrongExpectedVersionError(stream, 0n, 1n));
            }
            if (fault === 'refusal' && events.some((e) => e.type === 'FlowFailed')) {
              fault = 'done';
              return Promise.reject(new EngineError(ErrorCode.STORE_UNAVAILABLE, 'the store went away'));
            }
            if (fault === 'claim' && events.some((e) => e.type === 'CodeExchangeStarted')) {
              fault = 'done';
              return Promise.reject(new EngineError(ErrorCode.STORE_UNAVAILABLE, 'the store went away'));
            }
            return target.appendToStream(stream, events as never, options as never);
          };
        }
        if (prop === 'readStream') {
          return (stream: string, options?: unknown) => {
            if (fault === 'read' && stream.startsWith('flow-')) {
              fault = 'done';
              throw new EngineError(ErrorCode.STORE_UNAVAILABLE, 'the store went away');
            }
            return target.readStream(stream, options as never);
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  // Read through a call: TypeScript would narrow `fault` to what the test last assigned.
  const faultNow = (): string => fault;
  const { h, path, peers } = await startEngineOnFile(t, { wrapStore });

  const flow = await h.authorize('alice', 'files');
  fault = 'conflict';
  const err = await t.throwsAsync(h.callback('files', flow.callback, flow.started.bindingSecret));
  t.is((err as EngineError).code, ErrorCode.STORE_UNAVAILABLE);
  t.is(faultNow(), 'done', 'the claim conflicted and the read after it failed');
  t.is(liveKeysIn(path), 0, 'the key prepared for the claim was discarded');
  t.is(peers.tokenRequests(), 0, 'no exchange ran');

  // The retry reads the flow (this process no longer vouches for it) and its own claim fails.
  fault = 'claim';
  const again = await t.throwsAsync(h.callback('files', flow.callback, flow.started.bindingSecret));
  t.is((again as EngineError).code, ErrorCode.STORE_UNAVAILABLE);
  t.is(faultNow(), 'done');
  t.is(liveKeysIn(path), 0, 'the key the read path prepared was discarded too');

  // A code the authorization server refuses, and the store fails while recording the refusal.
  const refused = await h.authorize('bob', 'files');
  fault = 'refusal';
  await t.throwsAsync(h.callback('files', { ...refused.callback, code: 'not-a-code-the-as-issued' }, refused.started.bindingSecret));
  t.is(faultNow(), 'done');
  t.is(peers.tokenRequests(), 1, 'the refused exchange was tried once');
  t.is(liveKeysIn(path), 0, 'nothing was sealed under its key, so the key is gone');

  const retried = await h.callback('files', flow.callback, flow.started.bindingSecret);
  t.true(retried.ok, 'the same callback succeeds once the store answers again');
  t.is(liveKeysIn(path), 1, 'and keeps exactly the key its tokens were sealed under');
  t.truthy(await h.engine.getAccessToken('alice', 'files'), 'the grant opens with that key');
});
