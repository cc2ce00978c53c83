import test from 'ava';
import { EngineError, ErrorCode } from '../../../src/errors.js';
import { cloneableFields } from '../../../src/projector/cloneableFields.js';

test('log fields crossing to another thread keep an error\'s code and details, and never throw', (t) => {
  const sqlite = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  const engine = new EngineError(ErrorCode.STORE_UNAVAILABLE, 'no store', { details: { path: '/x' } });
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const out = cloneableFields({ err: sqlite, engineErr: engine, fn: () => 1, circular, n: 3, s: 'x', nested: { ok: [1, 2] } });
  t.like(out.err, { message: 'database is locked', code: 'SQLITE_BUSY', name: 'Error' });
  t.like(out.engineErr, { code: 'store_unavailable', message: 'no store', details: { path: '/x' } });
  t.regex(out.fn as string, /Function|=>/);
  t.deepEqual((out.circular as { a: number }).a, 1); // structured clone keeps cycles
  t.deepEqual([out.n, out.s, out.nested], [3, 'x', { ok: [1, 2] }]);
  t.notThrows(() => structuredClone(out));
  t.notThrows(() => cloneableFields({ odd: Object.create(null) as object }));
});
