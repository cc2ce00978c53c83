import type { ProjectionCommit } from '../../src/store/projectionState/index.js';

/** The first commit of a projection named `x`: its only state `json`, its checkpoint at position 1. */
export const firstCommit = (json: string): ProjectionCommit[] => [
  { name: 'x', expected: null, checkpoint: { position: { commit: 1n, prepare: 1n }, sourceHash: 'h', status: 'running', reason: null }, partitions: [['', json]] },
];
