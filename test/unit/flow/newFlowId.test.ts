import test from 'ava';
import { systemRandom, type Random } from '../../../src/clock.js';
import { isFlowId } from '../../../src/http/params.js';
import { composeState, parseState } from '../../../src/flow/secrets.js';
import { newFlowId } from '../../../src/flow/streams.js';

test('flow ids sort by their start, whatever their random part', (t) => {
  const starts = [0, 1, 35, 36, 1_000, Date.parse('2026-11-27T14:00:00Z'), Date.parse('2026-11-27T14:00:00.001Z'), Date.parse('2100-01-01T00:00:00Z')];
  // Random parts that sort against the starts: the last start gets the smallest.
  const ids = starts.map((ms, i) => newFlowId(new Date(ms), { token: () => String.fromCharCode(122 - i).repeat(22), uuid: () => '' }));
  t.deepEqual([...ids].sort(), ids);
  t.true(ids.every((id) => id.length === 31));
});

test('a flow id carries 128 random bits and passes the routes\' and the state\'s checks', (t) => {
  const asked: number[] = [];
  const random: Random = { token: (bytes) => (asked.push(bytes ?? 32), systemRandom.token(bytes)), uuid: () => '' };
  const id = newFlowId(new Date(), random);
  t.deepEqual(asked, [16]);
  t.true(isFlowId(id));
  t.is(parseState(composeState(id, systemRandom.token(32)))?.flowId, id);
  t.not(newFlowId(new Date(0), systemRandom), newFlowId(new Date(0), systemRandom));
});
