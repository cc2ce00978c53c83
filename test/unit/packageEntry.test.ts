import test from 'ava';
import * as entry from '../../src/index.js';

test('the package entry exports the engine, the store opener and the HTTP app', (t) => {
  for (const name of ['createEngine', 'openEventStore', 'createOAuthDriver', 'createSealer', 'createApp', 'createMcpRouter', 'startProjector', 'getFlowHistory', 'replayAll', 'loadConfig', 'EngineError', 'WrongExpectedVersionError']) {
    t.is(typeof (entry as Record<string, unknown>)[name], 'function', name);
  }
});

test('opening sqlite::memory: through the entry gives a working store', async (t) => {
  const store = await entry.openEventStore('sqlite::memory:');
  t.teardown(() => store.close());
  const r = await store.appendToStream('flow-entry', { type: 'Tested', data: { ok: true } }, { expectedRevision: entry.NO_STREAM });
  t.is(r.nextExpectedRevision, 0n);
});
