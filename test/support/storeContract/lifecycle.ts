import { collect, events, openFor, uniqueStream, type Contract } from './harness.js';

export function lifecycleCases({ test, name, factory }: Contract): void {
  test(`${name}: every operation fails with store_closed after close`, async (t) => {
    const store = await openFor(t, factory);
    const stream = uniqueStream();
    await store.appendToStream(stream, events(1));
    await store.close();
    const closed = { code: 'store_closed' };
    await t.throwsAsync(store.appendToStream(stream, events(1)), closed);
    await t.throwsAsync(collect(store.readStream(stream)), closed);
    await t.throwsAsync(collect(store.readAll()), closed);
    await t.throwsAsync(store.headPosition(), closed);
    await t.throwsAsync(async () => {
      for await (const _ of store.subscribeToAll()) break;
    }, closed);
    await t.notThrowsAsync(store.close(), 'closing twice is harmless');
  });

  test(`${name}: close ends live subscriptions`, async (t) => {
    const store = await openFor(t, factory);
    const sub = store.subscribeToAll({ fromPosition: 'end' });
    const iteration = (async () => {
      let n = 0;
      for await (const _ of sub) n++;
      return n;
    })();
    await store.close();
    t.is(await iteration, 0);
  });
}
