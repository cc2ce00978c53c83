import type { z } from 'zod';

/**
 * A predicate that is true only for inputs the schema it was compiled from accepts *and*
 * would return unchanged (a structurally identical object, keys in the same order). False
 * means "not sure": the caller then runs the zod schema itself, so the verdict, the output
 * and every error message stay zod's. Soundness is one-sided by design: a false negative
 * costs one zod parse, a false positive would let an invalid event through, so anything
 * unusual (extra keys, odd prototypes, strings whose length needs code-point counting,
 * `undefined` values) answers false.
 */
export type FastCheck = (input: unknown) => boolean;

/**
 * Why: `flowctl replay --all` validates every event of the log, and zod's general machinery
 * (a payload object per value, issue arrays, a fresh output object per level) is about a
 * third of a replay's cost. The shapes the catalogue uses are a handful of plain objects of
 * strings, numbers, booleans and enums, which a direct walk checks without allocating.
 *
 * The predicate is derived from the schema's own definition (never hand-copied, so it cannot
 * drift from it) and only for the constructs listed in {@link compile}; a schema using
 * anything else yields `null`, meaning "always use zod".
 */
export function compileFastCheck(schema: z.ZodType): FastCheck | null {
  try {
    return compile(schema as unknown as ZodLike);
  } catch {
    return null;
  }
}

const cache = new WeakMap<object, FastCheck | null>();

/** {@link compileFastCheck}, compiled once per schema object. */
export function fastCheckOf(schema: z.ZodType): FastCheck | null {
  let check = cache.get(schema);
  if (check === undefined) {
    check = compileFastCheck(schema);
    cache.set(schema, check);
  }
  return check;
}

/** The part of zod 4's internal definition (`schema._zod.def`) read here. */
interface ZodLike {
  _zod: { def: ZodDef };
}
interface ZodDef {
  type: string;
  checks?: ZodLike[];
  coerce?: boolean;
  // string formats
  format?: string;
  pattern?: RegExp;
  check?: string;
  // number checks / length checks
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  when?: unknown;
  // object
  shape?: Record<string, ZodLike>;
  catchall?: ZodLike;
  // optional, array, enum
  innerType?: ZodLike;
  element?: ZodLike;
  entries?: Record<string, unknown>;
}

class Unsupported extends Error {}
const unsupported = (what: string): never => {
  throw new Unsupported(what);
};

/** String formats whose zod check is exactly "the pattern matches" (others, e.g. url, do more). */
const PATTERN_FORMATS = new Set(['regex', 'datetime']);

function compile(schema: ZodLike): FastCheck {
  const def = schema._zod.def;
  switch (def.type) {
    case 'string':
      return compileString(def);
    case 'number':
      return compileNumber(def);
    case 'boolean':
      if (def.coerce || def.checks?.length) unsupported('boolean checks');
      return (v) => typeof v === 'boolean';
    case 'enum': {
      if (def.checks?.length) unsupported('enum checks');
      const values = new Set(Object.values(def.entries ?? {}));
      return (v) => values.has(v);
    }
    case 'unknown':
      if (def.checks?.length) unsupported('unknown checks');
      return () => true;
    case 'array':
      return compileArray(def);
    case 'object':
      return compileObject(def);
    default:
      return unsupported(def.type);
  }
}

/** The string's own format (e.g. `z.iso.datetime()`) and its checks, all as predicates. */
function compileString(def: ZodDef): FastCheck {
  if (def.coerce) unsupported('coerce');
  const tests: FastCheck[] = [];
  if (def.format !== undefined || def.check !== undefined) tests.push(stringFormat(def));
  for (const c of def.checks ?? []) tests.push(stringCheck(c._zod.def));
  return all((v) => typeof v === 'string', tests);
}

function stringFormat(def: ZodDef): FastCheck {
  if (def.check !== 'string_format' || !PATTERN_FORMATS.has(def.format!) || !(def.pattern instanceof RegExp)) {
    unsupported(`string format ${def.format}`);
  }
  const pattern = def.pattern!;
  return (v) => {
    pattern.lastIndex = 0;
    return pattern.test(v as string);
  };
}

function stringCheck(def: ZodDef): FastCheck {
  switch (def.check) {
    case 'string_format':
      return stringFormat(def);
    case 'min_length':
      return minLength(def.minimum!);
    case 'max_length':
      return maxLength(def.maximum!);
    default:
      return unsupported(`string check ${def.check}`);
  }
}

/**
 * zod counts code points; UTF-16 units bound them (units / 2 <= code points <= units), so the
 * answer is certain without counting except for lengths in between, which go to zod.
 */
const minLength = (min: number): FastCheck => (v) => {
  const units = (v as string).length;
  return units >= 2 * min || (min <= 1 && units >= min);
};
const maxLength = (max: number): FastCheck => (v) => (v as string).length <= max;

function compileNumber(def: ZodDef): FastCheck {
  if (def.coerce) unsupported('coerce');
  const tests: FastCheck[] = [];
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.when !== undefined) unsupported('conditional number check');
    if (d.check === 'number_format' && d.format === 'safeint') tests.push((v) => Number.isSafeInteger(v));
    else if (d.check === 'greater_than' && typeof d.value === 'number') {
      const bound = d.value;
      tests.push(d.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound);
    } else if (d.check === 'less_than' && typeof d.value === 'number') {
      const bound = d.value;
      tests.push(d.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound);
    } else unsupported(`number check ${d.check}`);
  }
  return all((v) => typeof v === 'number' && Number.isFinite(v), tests);
}

function compileArray(def: ZodDef): FastCheck {
  if (def.checks?.length) unsupported('array checks');
  const element = compile(def.element!);
  return (v) => {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) {
      // Holes and undefined elements are rare enough to leave to zod.
      if (!(i in v) || v[i] === undefined || !element(v[i])) return false;
    }
    return true;
  };
}

interface Field {
  key: string;
  optional: boolean;
  check: FastCheck;
}

/**
 * A plain object whose own keys are the shape's, in shape order (zod writes its output in
 * that order), then, for a loose object (`catchall` unknown), any extra keys. A strip object
 * with an extra key would lose it in zod's output, and a strict one fails: both go to zod.
 */
function compileObject(def: ZodDef): FastCheck {
  if (def.checks?.length) unsupported('object checks');
  // No catchall strips unknown keys, `never` rejects them, `unknown` passes them through.
  const catchall = def.catchall?._zod.def;
  if (catchall !== undefined && catchall.checks?.length) unsupported('catchall checks');
  if (catchall !== undefined && catchall.type !== 'never' && catchall.type !== 'unknown') unsupported(`catchall ${catchall.type}`);
  const loose = catchall?.type === 'unknown';
  const fields: Field[] = Object.entries(def.shape ?? {}).map(([key, value]) => {
    // Inherited names would make zod's `key in input` differ from an own-key test; numeric
    // keys would be reordered by the engine. Neither occurs in the catalogue.
    if (key in Object.prototype || key === '__proto__' || /^\d+$/.test(key)) unsupported(`key ${key}`);
    const d = value._zod.def;
    if (d.type === 'optional') {
      if (d.checks?.length) unsupported('optional checks');
      return { key, optional: true, check: compile(d.innerType!) };
    }
    return { key, optional: false, check: compile(value) };
  });
  const index = new Map(fields.map((f, i) => [f.key, i]));
  return (v) => {
    if (typeof v !== 'object' || v === null) return false;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    const o = v as Record<string, unknown>;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const value = o[f.key];
      if (value === undefined) {
        // Absent is fine when optional; present-but-undefined is left to zod.
        if (!f.optional || Object.hasOwn(o, f.key)) return false;
      } else if (!f.check(value)) return false;
    }
    // Key order and extras: shape keys ascending, then (loose only) unknown ones.
    let last = -1;
    let extra = false;
    for (const key in o) {
      const at = index.get(key);
      if (at === undefined) {
        if (!loose || key === '__proto__') return false;
        extra = true;
      } else {
        if (extra || at <= last) return false;
        last = at;
      }
    }
    return true;
  };
}

function all(first: FastCheck, rest: FastCheck[]): FastCheck {
  if (rest.length === 0) return first;
  if (rest.length === 1) {
    const [a] = rest as [FastCheck];
    return (v) => first(v) && a(v);
  }
  if (rest.length === 2) {
    const [a, b] = rest as [FastCheck, FastCheck];
    return (v) => first(v) && a(v) && b(v);
  }
  return (v) => {
    if (!first(v)) return false;
    for (const t of rest) if (!t(v)) return false;
    return true;
  };
}
