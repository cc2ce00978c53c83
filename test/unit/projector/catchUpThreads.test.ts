import test from 'ava';
import { estimateCatchUpCost } from '../../../src/projector/catchUpCost.js';
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

const counts = new Map([
  ['FlowInitiated', 100],
  ['FlowCompleted', 80],
  ['ClientReused', 60],
  ['TokensIssued', 50],
]);
const handling = (partitioning: QueryDefinition['partitioning'], ...types: string[]): QueryDefinition => ({
  ...def({ kind: 'categories', categories: ['flow'] }),
  partitioning,
  handlers: Object.fromEntries(['$init', ...types].map((type) => [type, (() => undefined) as never])),
});

test('a catch-up costs by the events a projection handles, and a state per stream costs more per event', (t) => {
  const single = estimateCatchUpCost(handling('none', 'FlowInitiated', 'FlowCompleted'), counts);
  const perStream = estimateCatchUpCost(handling('stream', 'FlowInitiated', 'FlowCompleted'), counts);
  const fewer = estimateCatchUpCost(handling('none', 'FlowInitiated'), counts);
  t.true(single > fewer, 'more handled events cost more');
  t.true(perStream > 2 * single, 'a partition per stream costs several times a single state');
  t.is(estimateCatchUpCost(handling('none', 'NeverSeen'), counts), 0, '$init alone and unseen types cost nothing');
  const any = estimateCatchUpCost(handling('none', '$any'), counts);
  t.is(any, estimateCatchUpCost(handling('none', 'FlowInitiated', 'FlowCompleted', 'ClientReused', 'TokensIssued'), counts), '$any handles every type');
  t.is(estimateCatchUpCost(undefined, counts), 0);
});

test('the costliest group comes first (the caller keeps it on its own thread), whatever the number of projections', (t) => {
  const weighed = candidates.map((c) => ({ ...c, cost: c.definition === flow ? (c.name === 'flow-status' ? 30 : 5) : 4 }));
  const groups = groupForThreads(weighed, 2);
  t.deepEqual([...groups[0]!].sort(), ['expiry', 'flow-status', 'flows-overview']);
  // A light flow group: it is no longer first, and the first group is the costliest.
  const lighter = candidates.map((c) => ({ ...c, cost: c.definition === flow ? 1 : 10 }));
  const costOf = (g: string[]) => g.reduce((sum, n) => sum + lighter.find((c) => c.name === n)!.cost, 0);
  const split = groupForThreads(lighter, 2);
  t.false(split[0]!.includes('flow-status'));
  t.true(split.every((g) => costOf(split[0]!) >= costOf(g)));
});

test('a group split for idle workers puts each member, costliest first, in the lighter half', (t) => {
  const flowOnly = candidates.filter((c) => c.definition === flow).map((c) => ({ ...c, cost: c.name === 'flow-status' ? 30 : c.name === 'flows-overview' ? 8 : 6 }));
  const groups = groupForThreads(flowOnly, 2);
  t.deepEqual(groups.map((g) => [...g].sort()), [['flow-status'], ['expiry', 'flows-overview']]);
});

test('projections the sample gave no cost still spread over the workers', (t) => {
  const free = candidates.map((c) => ({ ...c, cost: 0 }));
  const groups = groupForThreads(free, 2);
  t.is(groups.length, 2);
  t.deepEqual(groups.flat().sort(), candidates.map((c) => c.name).sort());
  t.deepEqual(groupForThreads([], 2), []);
});
