import test from 'ava';
import { systemRandom, timeOrderedId } from '../../src/clock.js';
import { normaliseEventId } from '../../src/store/sqlite/validateInput.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('an id drawn for an event is a UUIDv7 carrying the millisecond it was drawn', (t) => {
  const at = Date.UTC(2026, 10, 27, 3, 55, 12, 345);
  const id = timeOrderedId(at);
  t.regex(id, V7);
  t.is(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
  t.is(normaliseEventId(id), id, 'the store accepts it as given');
  t.is(timeOrderedId(2 ** 48 - 1).slice(0, 13), 'ffffffff-ffff', 'the whole 48-bit range');
});

test('ids grow with time and never repeat', (t) => {
  const ids = Array.from({ length: 50_000 }, (_, i) => timeOrderedId(1_700_000_000_000 + Math.floor(i / 100)));
  t.is(new Set(ids).size, ids.length);
  for (let i = 100; i < ids.length; i += 100) t.true(ids[i - 1]! < ids[i]!, `a later millisecond sorts after (${i})`);
  for (const id of ids.slice(0, 1000)) t.regex(id, V7);
});

test('the system random draws its uuids time-ordered, so ids the engine sets sort by when they were drawn', async (t) => {
  const first = systemRandom.uuid();
  await new Promise((r) => setTimeout(r, 3));
  const later = Array.from({ length: 200 }, () => systemRandom.uuid());
  t.regex(first, V7);
  t.true(later.every((id) => V7.test(id) && id > first), 'drawn a later millisecond, every id sorts after');
  t.is(new Set([first, ...later]).size, 201);
});
