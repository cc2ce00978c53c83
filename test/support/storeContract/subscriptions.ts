import type { RecordedEvent } from '../../../src/store/types.js';
import { consume, events, openFor, uniqueCategory, within, type Contract } from './harness.js';

const ofCategory = (category: string) => (e: RecordedEvent) => e.streamId.startsWith(`${category}-`);
const types = (list: RecordedEvent[]) => list.map((e) => e.type);

export function subscriptionCases({ test, name, factory }: Contract): void {
  test(`${name}: subscribeToAll catches up, resolves caughtUp, then delivers live events in order`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-a`, events(3, 'Old'));
    await store.appendToStream(`${cat}-b`, events(2, 'Old'));
    const sub = store.subscribeToAll();
    const reader = consume(sub, ofCategory(cat));
    await within(sub.caughtUp, 5000, 'caughtUp');
    const caught = await reader.until(5);
    t.deepEqual(types(caught), ['Old', 'Old', 'Old', 'Old', 'Old']);
    await store.appendToStream(`${cat}-a`, events(1, 'New'));
    await store.appendToStream(`${cat}-c`, events(2, 'New'));
    const all = await reader.until(8);
    t.deepEqual(types(all.slice(5)), ['New', 'New', 'New']);
    for (let i = 1; i < all.length; i++) t.true(all[i]!.position.commit > all[i - 1]!.position.commit);
    await sub.unsubscribe();
  });

  test(`${name}: caughtUp resolves at once on a subscription from the end`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-a`, events(2, 'Old'));
    const sub = store.subscribeToAll({ fromPosition: 'end' });
    const reader = consume(sub, ofCategory(cat));
    await within(sub.caughtUp, 5000, 'caughtUp');
    await store.appendToStream(`${cat}-a`, events(1, 'New'));
    t.deepEqual(types(await reader.until(1)), ['New']);
    await sub.unsubscribe();
  });

  test(`${name}: subscribeToAll from a position delivers only what comes after it`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-a`, events(2, 'Before'));
    const { position } = await store.appendToStream(`${cat}-a`, events(1, 'At'));
    await store.appendToStream(`${cat}-a`, events(2, 'After'));
    const sub = store.subscribeToAll({ fromPosition: position });
    const reader = consume(sub, ofCategory(cat));
    t.deepEqual(types(await reader.until(2)), ['After', 'After']);
    await within(sub.caughtUp, 5000, 'caughtUp');
    await sub.unsubscribe();
    t.is(reader.seen.length, 2);
  });

  test(`${name}: a stream-prefix filter delivers only matching streams, stored and live`, async (t) => {
    const store = await openFor(t, factory);
    const keep = uniqueCategory();
    const drop = uniqueCategory();
    await store.appendToStream(`${keep}-1`, events(1, 'A'));
    await store.appendToStream(`${drop}-1`, events(1, 'A'));
    const sub = store.subscribeToAll({ filter: { streamPrefixes: [`${keep}-`] } });
    const reader = consume(sub);
    await store.appendToStream(`${drop}-2`, events(1, 'A'));
    await store.appendToStream(`${keep}-2`, events(1, 'B'));
    const got = await reader.until(2);
    t.deepEqual(got.map((e) => e.streamId), [`${keep}-1`, `${keep}-2`]);
    await sub.unsubscribe();
    t.true(reader.seen.every((e) => e.streamId.startsWith(keep)));
  });

  test(`${name}: an event-type filter delivers only the listed types`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-1`, [...events(1, 'FlowInitiated'), ...events(1, 'FlowCompleted'), ...events(1, 'Other')]);
    const sub = store.subscribeToAll({ filter: { streamPrefixes: [`${cat}-`], eventTypes: ['FlowCompleted', 'Other'] } });
    const reader = consume(sub);
    await store.appendToStream(`${cat}-1`, events(1, 'FlowInitiated'));
    await store.appendToStream(`${cat}-1`, events(1, 'Other'));
    t.deepEqual(types(await reader.until(3)), ['FlowCompleted', 'Other', 'Other']);
    await sub.unsubscribe();
  });

  test(`${name}: an event-type prefix filter delivers the types that start with it`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-1`, [...events(1, 'ClientRegistered'), ...events(1, 'FlowInitiated'), ...events(1, 'ClientRejected')]);
    const sub = store.subscribeToAll({ filter: { streamPrefixes: [`${cat}-`], eventTypePrefixes: ['Client'] } });
    const reader = consume(sub);
    t.deepEqual(types(await reader.until(2)), ['ClientRegistered', 'ClientRejected']);
    await within(sub.caughtUp, 5000, 'caughtUp');
    await sub.unsubscribe();
  });

  test(`${name}: unsubscribe ends a waiting iteration and stops delivery`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-1`, events(1));
    const sub = store.subscribeToAll();
    const reader = consume(sub, ofCategory(cat));
    await reader.until(1);
    await within(sub.caughtUp, 5000, 'caughtUp');
    await sub.unsubscribe();
    await within(reader.done, 5000, 'the iteration to end');
    await store.appendToStream(`${cat}-1`, events(1));
    t.is(reader.seen.length, 1);
  });

  test(`${name}: breaking out of a for-await loop unsubscribes`, async (t) => {
    const store = await openFor(t, factory);
    const cat = uniqueCategory();
    await store.appendToStream(`${cat}-1`, events(3));
    const sub = store.subscribeToAll({ filter: { streamPrefixes: [`${cat}-`] } });
    let count = 0;
    for await (const _ of sub) {
      if (++count === 2) break;
    }
    t.is(count, 2);
    const next = await sub[Symbol.asyncIterator]().next();
    t.true(next.done === true, 'a finished subscription yields nothing more');
  });
}
