import test from 'ava';
import { groupForThreads, type GroupCandidate } from '../../../src/projector/catchUpThreads.js';
import type { QueryDefinition, SourceSelector } from '../../../src/projector/definition.js';

const def = (selector: SourceSelector): QueryDefinition => ({ selector, partitioning: 'none', partitionBy: null, handlers: {}, resultSteps: [], options: {} });
const flow = def({ kind: 'categories', categories: ['flow'] });
const candidates: GroupCandidate[] = [
  { name: 'client-health', definition: def({ kind: 'all' }) },
  { name: 'connections', definition: def({ kind: 'categories', categories: ['grant', 'connection'] }) },
  { name: 'expiry', definition: flow },
  { name: 'flow-status', definition: flow },
  { name: 'flows-overview', definition: flow },
  { name: 'servers', definition: def({ kind: 'categories', categories: ['server', 'connection'] }) },
];

const sorted = (groups: string[][]) => groups.map((g) => [...g].sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));

test('projections reading the same streams share a worker; groups spread over the workers', (t) => {
  const groups = groupForThreads(candidates, 2);
  t.deepEqual(sorted(groups), [['client-health', 'connections', 'servers'], ['expiry', 'flow-status', 'flows-overview']]);
});

test('every projection goes to exactly one worker, never more workers than asked or than projections', (t) => {
  for (const threads of [1, 2, 3, 4, 8]) {
    const groups = groupForThreads(candidates, threads);
    t.true(groups.length <= Math.min(threads, candidates.length));
    t.deepEqual(groups.flat().sort(), candidates.map((c) => c.name).sort());
  }
  t.deepEqual(groupForThreads(candidates.slice(0, 1), 4), [['client-health']]);
});

test('with fewer selectors than workers, the largest group is split so every worker has work', (t) => {
  const groups = groupForThreads(candidates.filter((c) => c.definition === flow), 2);
  t.is(groups.length, 2);
  t.deepEqual(groups.flat().sort(), ['expiry', 'flow-status', 'flows-overview']);
});
