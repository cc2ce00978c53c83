import test from 'ava';
import { systemRandom } from '../../../src/clock.js';
import { newDataKeyId } from '../../../src/grants/recordTokens.js';

test('data key ids sort by creation, whoever the grant belongs to', (t) => {
  const at = [Date.parse('2026-11-27T10:00:00Z'), Date.parse('2026-11-27T10:00:00.001Z'), Date.parse('2026-11-27T11:00:00Z'), Date.parse('2027-01-01T00:00:00Z')];
  // Users whose hashed keys would sort against creation: the grant's key must not lead the id.
  const users = ['zed', 'mallory', 'carol', 'alice'];
  const ids = at.map((ms, i) => newDataKeyId({ clock: { now: () => new Date(ms) }, random: systemRandom }, users[i]!, 'files'));
  t.deepEqual([...ids].sort(), ids);
  t.is(new Set(ids).size, ids.length);
});

test('two data keys drawn at the same moment for the same grant differ', (t) => {
  const deps = { clock: { now: () => new Date(0) }, random: systemRandom };
  t.not(newDataKeyId(deps, 'alice', 'files'), newDataKeyId(deps, 'alice', 'files'));
});
