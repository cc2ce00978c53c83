import test from 'ava';
import { readDomainEvents } from '../../../src/flow/commandHandler.js';
import { newEvent } from '../../../src/flow/newEvent.js';
import { foldConnection, readConnection } from '../../../src/flow/startFlow.js';
import { connectionStream } from '../../../src/flow/streams.js';
import { openEventStore } from '../../../src/store/index.js';
import type { EventStore } from '../../../src/store/types.js';

const SEALED = { v: 1, kid: 'k1', iv: 'aXY', ct: 'Y3Q', tag: 'dGFn' };

/** Counts the events the store hands out, whatever the read. */
function counting(store: EventStore): { store: EventStore; read: () => number } {
  let read = 0;
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (prop === 'readStream') {
        return (stream: string, options?: never) => {
          const events = target.readStream(stream, options);
          return (async function* () {
            for await (const e of events) {
              read++;
              yield e;
            }
          })();
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, read: () => read };
}

test('the connection state comes from the stream\'s last event, as a fold of the whole stream gives it', async (t) => {
  const raw = await openEventStore('sqlite::memory:');
  t.teardown(() => raw.close());
  const { store, read } = counting(raw);
  t.deepEqual(await readConnection({ store }, 'alice', 'files'), { current: null, revision: null }, 'no stream: no attempt');

  for (let i = 0; i < 40; i++) {
    const at = Date.UTC(2026, 0, 1, 0, i);
    await raw.appendToStream(
      connectionStream('alice', 'files'),
      newEvent('ConnectionAttemptStarted', { flowId: `f${i}`, userId: 'alice', serverName: 'files', expiresAt: new Date(at + 600_000).toISOString(), authorizationUrl: SEALED, ...(i ? { supersedes: `f${i - 1}` } : {}) }, { now: new Date(at), correlationId: `c${i}`, actor: 'alice' }),
    );
  }
  const before = read();
  const state = await readConnection({ store }, 'alice', 'files');
  t.is(read() - before, 1, 'one event read, however long the stream');
  t.deepEqual(state, foldConnection(await readDomainEvents(raw, connectionStream('alice', 'files'))));
  t.is(state.current?.flowId, 'f39');
  t.is(state.revision, 39n);
});
