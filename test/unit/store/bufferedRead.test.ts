import test from 'ava';
import { openEventStore } from '../../../src/store/openEventStore.js';
import { isBufferedEventIterator, type RecordedEvent } from '../../../src/store/types.js';

test('a SQLite read mixing nextBuffered() and next() yields exactly what for-await yields, once each', async (t) => {
  const store = await openEventStore('sqlite::memory:');
  try {
    // More than one page (512 rows), so both paths cross page boundaries.
    for (let i = 0; i < 1_300; i += 100) {
      await store.appendToStream(`s-${i % 3}`, Array.from({ length: 100 }, (_, j) => ({ type: 'T', data: { n: i + j } })));
    }
    const expected: RecordedEvent[] = [];
    for await (const e of store.readAll()) expected.push(e);

    const it = store.readAll()[Symbol.asyncIterator]();
    t.true(isBufferedEventIterator(it));
    if (!isBufferedEventIterator(it)) return;
    t.is(it.nextBuffered(), undefined, 'nothing is buffered before the first next()');
    const got: RecordedEvent[] = [];
    let sync = 0;
    for (;;) {
      let e = it.nextBuffered();
      if (e !== undefined) sync++;
      else {
        const r = await it.next();
        if (r.done) break;
        e = r.value;
      }
      got.push(e);
    }
    t.deepEqual(got, expected);
    t.true(sync > got.length / 2, 'most events came from the buffer');
    t.is(it.nextBuffered(), undefined);
    t.deepEqual(await it.next(), { done: true, value: undefined });
  } finally {
    await store.close();
  }
});
