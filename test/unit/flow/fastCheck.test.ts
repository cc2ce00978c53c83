import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { z } from 'zod';
import { CATALOGUE, decodeEvent } from '../../../src/flow/catalogue.js';
import { compileFastCheck } from '../../../src/flow/fastCheck.js';
import { EventMetadataSchema } from '../../../src/flow/metadata.js';
import { goldenNames, loadGolden } from '../../support/goldenLog.js';

/**
 * The fast path must never accept what zod rejects, and what it accepts must be exactly what
 * zod would return (same structure, same key order). Samples: every golden event (valid),
 * then thousands of mutations of them (mostly invalid).
 */

interface Sample {
  schema: z.ZodType;
  value: unknown;
  label: string;
}

const golden = goldenNames().flatMap((n) => loadGolden(n).events);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const describe = (v: unknown): string => {
  try {
    return typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : String(JSON.stringify(v) ?? v).slice(0, 40);
  } catch {
    return Object.prototype.toString.call(v);
  }
};

const validSamples: Sample[] = golden.flatMap((e) => [
  { schema: CATALOGUE[e.type]!.schema, value: e.data, label: `${e.type} data` },
  { schema: EventMetadataSchema as z.ZodType, value: e.metadata, label: `${e.type} metadata` },
]);

/** Values that sit on or across the boundaries the catalogue's schemas draw. */
const tricky: unknown[] = [
  undefined, null, true, false, 0, 1, -1, 1.5, 2 ** 53, -0, NaN, Infinity, '', 'x', '2026-01-15T12:00:00.000Z',
  '2026-02-30T12:00:00Z', '2026-01-15T12:00:00+01:00', 'a'.repeat(43), 'a'.repeat(42), 'a'.repeat(44),
  'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(500), 'x'.repeat(501),
  '😀', '😀'.repeat(100), '😀'.repeat(101), '😀'.repeat(250), '😀'.repeat(251), '\ud800', '\ud800'.repeat(201),
  'access denied', 'preregistered', 'dcr', 'other', [], ['a'], [1], {}, { v: 1, kid: 'k' }, { v: 0, kid: 'k' },
  { v: 1, kid: '' }, { kid: 'k', v: 1 }, { v: 1, kid: 'k', iv: 'x' }, Object.create(null),
];

const paths = (v: unknown, prefix: string[] = []): string[][] =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.keys(v).flatMap((k) => [[...prefix, k], ...paths((v as Record<string, unknown>)[k], [...prefix, k])])
    : [];

function setAt(root: unknown, path: string[], value: unknown, mode: 'set' | 'delete' | 'extra' | 'reorder' | 'nullproto'): unknown {
  const out = clone(root) as Record<string, unknown>;
  let parent = out;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
  const key = path.at(-1)!;
  if (mode === 'set') parent[key] = value;
  else if (mode === 'delete') delete parent[key];
  else if (mode === 'extra') parent[`${key}Extra`] = value;
  else if (mode === 'reorder') {
    const v = parent[key];
    delete parent[key];
    parent[key] = v;
  } else {
    const target = parent[key];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) parent[key] = Object.assign(Object.create(null), target);
  }
  return out;
}

function assertAgrees(t: import('ava').ExecutionContext, s: Sample): void {
  const fast = compileFastCheck(s.schema);
  if (fast === null) return;
  const zod = s.schema.safeParse(s.value);
  if (fast(s.value)) {
    t.true(zod.success, `fast path accepted what zod rejects: ${s.label}`);
    if (zod.success) {
      t.deepEqual(s.value, zod.data, `fast path output differs from zod's: ${s.label}`);
      t.is(JSON.stringify(s.value), JSON.stringify(zod.data), `key order differs from zod's: ${s.label}`);
    }
  }
}

test('every catalogue schema and the metadata schema get a fast path, except the few shapes it does not model', (t) => {
  t.not(compileFastCheck(EventMetadataSchema), null);
  const without = Object.entries(CATALOGUE).filter(([, e]) => compileFastCheck(e.schema) === null).map(([type]) => type);
  for (const type of Object.keys(CATALOGUE).filter((k) => !without.includes(k))) t.truthy(compileFastCheck(CATALOGUE[type]!.schema), type);
  // Every flow event type must be covered: replay validates them all.
  t.false(without.some((type) => type.startsWith('Flow') || type.startsWith('Code') || type.startsWith('Browser')));
});

test('the fast path accepts every golden event exactly as zod outputs it', (t) => {
  for (const s of validSamples) {
    const fast = compileFastCheck(s.schema);
    if (fast === null) continue;
    t.true(fast(s.value), `valid ${s.label} should take the fast path`);
    assertAgrees(t, s);
  }
});

test('the fast path never accepts a mutation zod rejects (boundary values at every key, deleted, extra and reordered keys)', (t) => {
  let checked = 0;
  for (const s of validSamples) {
    for (const path of paths(s.value)) {
      for (const mode of ['delete', 'extra', 'reorder', 'nullproto'] as const) {
        assertAgrees(t, { ...s, value: setAt(s.value, path, 'x', mode), label: `${s.label} ${mode} ${path.join('.')}` });
        checked++;
      }
      for (const v of tricky) {
        assertAgrees(t, { ...s, value: setAt(s.value, path, v, 'set'), label: `${s.label} ${path.join('.')}=${describe(v)}` });
        checked++;
      }
    }
    for (const v of tricky) assertAgrees(t, { ...s, value: v, label: `${s.label} replaced by ${describe(v)}` });
  }
  t.true(checked > 1000);
});

test('the fast path agrees with zod on random values at every key', (t) => {
  const samples = validSamples.filter((s) => paths(s.value).length > 0);
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.anything({ withNullPrototype: true, withObjectString: true }), (i, j, v) => {
      const s = samples[i % samples.length]!;
      const ps = paths(s.value);
      const value = setAt(s.value, ps[j % ps.length]!, v, 'set');
      const fast = compileFastCheck(s.schema);
      if (fast === null || !fast(value)) return true;
      const zod = s.schema.safeParse(value);
      return zod.success && JSON.stringify(zod.data) === JSON.stringify(value) && isDeepStrictEqual(value, zod.data);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('decodeEvent with the fast path returns what a zod-only decode returns, and the same errors', (t) => {
  const zodOnly = (e: { type: string; data: unknown; metadata: unknown }) => {
    const meta = EventMetadataSchema.safeParse(e.metadata);
    const data = CATALOGUE[e.type]!.schema.safeParse(e.data);
    return meta.success && data.success ? { data: data.data, metadata: meta.data } : null;
  };
  const recorded = (e: { type: string; data: unknown; metadata: unknown }) => ({
    streamId: 'flow-x', id: 'id', revision: 3n, position: { commit: 1n, prepare: 1n }, type: e.type, data: e.data, metadata: e.metadata, created: new Date(0),
  });
  for (const e of golden) {
    const r = decodeEvent(recorded(e));
    t.true(r.ok, e.type);
    if (r.ok) t.deepEqual({ data: r.event.data, metadata: r.event.metadata }, zodOnly(e)!);
    const bad = { ...e, metadata: { ...(e.metadata as object), actor: '' } };
    const rb = decodeEvent(recorded(bad));
    t.false(rb.ok);
    if (!rb.ok) t.is(rb.error.message, `Invalid metadata on "${e.type}"`.replace(/"/g, rb.error.message.includes('"') ? '"' : "'"));
  }
});

test('constructs beyond the catalogue still agree with zod (code-point lengths, strict and loose objects, arrays, enums)', (t) => {
  const schemas: z.ZodType[] = [
    z.string().min(3),
    z.string().max(3),
    z.strictObject({ a: z.string(), b: z.number().int().optional() }),
    z.looseObject({ a: z.string(), b: z.boolean().optional() }),
    z.object({ tags: z.array(z.enum(['x', 'y'])), n: z.number().positive() }),
  ];
  const values: unknown[] = [
    ...tricky, '😀😀', '😀a', 'abc', 'ab', '😀😀😀', 'a😀', 'abcd', { a: 'x' }, { a: 'x', b: 1 }, { b: 1, a: 'x' }, { a: 'x', b: undefined },
    { a: 'x', c: 1 }, { c: 1, a: 'x' }, { a: 'x', c: 1, b: true }, { a: 'x', b: true, c: 1 }, { a: 'x', b: 1.5 }, { tags: ['x', 'y'], n: 1 },
    { tags: ['x', 'z'], n: 1 }, { tags: [], n: 0 }, { tags: [, 'x'], n: 2 }, { n: 1, tags: [] }, { tags: ['x'], n: 1, more: 1 },
  ];
  for (const schema of schemas) {
    t.not(compileFastCheck(schema), null);
    for (const value of values) assertAgrees(t, { schema, value, label: `${describe(value)}` });
  }
  // The code-point cases really are decided by zod, and correctly.
  t.false(z.string().min(3).safeParse('😀😀').success);
  t.false(compileFastCheck(z.string().min(3))!('😀😀'));
});

test('number formats on the schema itself and numeric TypeScript enums agree with zod (or are left to it)', (t) => {
  enum Numeric { A, B }
  const schemas: z.ZodType[] = [z.int(), z.int32(), z.uint32(), z.float32(), z.object({ n: z.int() }), z.enum(Numeric)];
  const values: unknown[] = [1, 1.5, -1, 2 ** 40, 2 ** 53, 1e300, 'A', 'B', 0, { n: 1 }, { n: 1.5 }];
  for (const schema of schemas) {
    const fast = compileFastCheck(schema);
    for (const value of values) {
      if (fast?.(value)) t.true(schema.safeParse(value).success, `fast path accepted ${describe(value)} that zod rejects`);
    }
  }
  t.false(compileFastCheck(z.enum(Numeric))?.('A') ?? false, 'a reverse-mapping key is not a value');
});
