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
 * (a payload object per value, issue arrays, a fresh output object per level) was about a
 * third of a replay's cost. The catalogue's shapes are plain objects of strings, numbers,
 * booleans and enums, which straight-line code checks without allocating.
 *
 * The predicate is generated from the schema's own definition (never hand-copied, so it
 * cannot drift from it), as one small JavaScript function per object level: a generic walk
 * over closures costs several times more per field. Only the constructs handled below are
 * compiled; a schema using anything else, or a runtime that forbids code generation, yields
 * `null`, meaning "always use zod". Generated source never embeds schema values except key
 * names (as JSON string literals) and checked finite numbers; patterns and sets are passed in.
 */
export function compileFastCheck(schema: z.ZodType): FastCheck | null {
  try {
    const gen = new Generator();
    const root = gen.check(schema as unknown as ZodLike, 'v');
    const names = gen.consts.map((_, i) => `c${i}`);
    const body = `"use strict";\n${gen.functions.join('\n')}\nreturn function fastCheck(v) { return ${root}; };`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above: generated from trusted schema definitions only
    return new Function(...names, body)(...gen.consts) as FastCheck;
  } catch {
    return null;
  }
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

const unsupported = (what: string): never => {
  throw new Error(`no fast check for ${what}`);
};

/** String formats whose zod check is exactly "the pattern matches" (others, e.g. url, do more). */
const PATTERN_FORMATS = new Set(['regex', 'datetime']);

const int = (n: unknown): string => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) unsupported(`bound ${String(n)}`);
  return String(n);
};

/**
 * Emits boolean expressions over a variable name. Objects and arrays become named functions
 * (their checks need statements); constants (patterns, sets, prototypes) become parameters.
 */
class Generator {
  readonly consts: unknown[] = [];
  readonly functions: string[] = [];

  check(schema: ZodLike, v: string): string {
    const def = schema._zod.def;
    switch (def.type) {
      case 'string':
        return this.string(def, v);
      case 'number':
        return this.number(def, v);
      case 'boolean':
        if (def.coerce || def.checks?.length) unsupported('boolean checks');
        return `typeof ${v} === "boolean"`;
      case 'enum': {
        if (def.checks?.length) unsupported('enum checks');
        // zod's own value set: a numeric TypeScript enum's entries also hold its reverse mapping.
        const values = (schema._zod as { values?: Set<unknown> }).values;
        if (!(values instanceof Set)) unsupported('enum without a value set');
        return `${this.constant(new Set(values))}.has(${v})`;
      }
      case 'unknown':
        if (def.checks?.length) unsupported('unknown checks');
        return 'true';
      case 'array':
        return `${this.array(def)}(${v})`;
      case 'object':
        return `${this.object(def)}(${v})`;
      default:
        return unsupported(def.type);
    }
  }

  constant(value: unknown): string {
    this.consts.push(value);
    return `c${this.consts.length - 1}`;
  }

  /** The string's own format (e.g. `z.iso.datetime()`), then its checks. */
  string(def: ZodDef, v: string): string {
    if (def.coerce) unsupported('coerce');
    const parts = [`typeof ${v} === "string"`];
    if (def.format !== undefined || def.check !== undefined) parts.push(this.pattern(def, v));
    for (const c of def.checks ?? []) {
      const d = c._zod.def;
      if (d.check === 'string_format') parts.push(this.pattern(d, v));
      // zod counts code points; UTF-16 units bound them (units / 2 <= code points <= units),
      // so these are certain without counting; lengths in between go to zod.
      else if (d.check === 'min_length') parts.push(d.minimum! <= 1 ? `${v}.length >= ${int(d.minimum)}` : `${v}.length >= ${int(2 * d.minimum!)}`);
      else if (d.check === 'max_length') parts.push(`${v}.length <= ${int(d.maximum)}`);
      else unsupported(`string check ${d.check}`);
    }
    return `(${parts.join(' && ')})`;
  }

  pattern(def: ZodDef, v: string): string {
    if (def.check !== 'string_format' || !PATTERN_FORMATS.has(def.format!) || !(def.pattern instanceof RegExp)) {
      unsupported(`string format ${def.format}`);
    }
    const re = this.constant(def.pattern);
    return `(${re}.lastIndex = 0, ${re}.test(${v}))`;
  }

  number(def: ZodDef, v: string): string {
    if (def.coerce) unsupported('coerce');
    // z.int(), z.int32(), z.float32(), … carry their format on the schema itself, not as a check.
    if (def.format !== undefined || def.check !== undefined) unsupported(`number format ${def.format}`);
    const parts = [`typeof ${v} === "number"`, `Number.isFinite(${v})`];
    for (const c of def.checks ?? []) {
      const d = c._zod.def;
      if (d.when !== undefined) unsupported('conditional number check');
      if (d.check === 'number_format' && d.format === 'safeint') parts.push(`Number.isSafeInteger(${v})`);
      else if (d.check === 'greater_than') parts.push(`${v} ${d.inclusive ? '>=' : '>'} ${int(d.value)}`);
      else if (d.check === 'less_than') parts.push(`${v} ${d.inclusive ? '<=' : '<'} ${int(d.value)}`);
      else unsupported(`number check ${d.check}`);
    }
    return `(${parts.join(' && ')})`;
  }

  /** A dense plain array; holes and undefined elements are rare enough to leave to zod. */
  array(def: ZodDef): string {
    if (def.checks?.length) unsupported('array checks');
    const name = `f${this.functions.length}`;
    this.functions.push('');
    const proto = this.constant(Array.prototype);
    const element = this.check(def.element!, 'x');
    this.functions[Number(name.slice(1))] = `function ${name}(v) {
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== ${proto}) return false;
  for (let i = 0; i < v.length; i++) {
    if (!(i in v)) return false;
    const x = v[i];
    if (x === undefined || !(${element})) return false;
  }
  return true;
}`;
    return name;
  }

  /**
   * A plain object whose own keys are the shape's, in shape order (zod writes its output in
   * that order), then, for a loose object (`catchall` unknown), extra keys passed through. A
   * strip object with an extra key would lose it in zod's output and a strict one fails: both
   * go to zod, as do present-but-undefined values and inherited or out-of-order keys.
   */
  object(def: ZodDef): string {
    if (def.checks?.length) unsupported('object checks');
    // No catchall strips unknown keys, `never` rejects them, `unknown` passes them through.
    const catchall = def.catchall?._zod.def;
    if (catchall !== undefined && catchall.checks?.length) unsupported('catchall checks');
    if (catchall !== undefined && catchall.type !== 'never' && catchall.type !== 'unknown') unsupported(`catchall ${catchall.type}`);
    const loose = catchall?.type === 'unknown';
    const name = `f${this.functions.length}`;
    this.functions.push('');
    const keys = Object.keys(def.shape ?? {});
    let anyOptional = false;
    const required: boolean[] = [];
    const values = keys.map((key) => {
      // Inherited names would make zod's `key in input` differ from an own-key test; numeric
      // keys would be reordered by the engine. Neither occurs in the catalogue.
      if (key in Object.prototype || key === '__proto__' || /^\d+$/.test(key)) unsupported(`key ${key}`);
      const field = def.shape![key]!._zod.def;
      const optional = field.type === 'optional';
      if (optional && field.checks?.length) unsupported('optional checks');
      anyOptional ||= optional;
      required.push(!optional);
      const check = this.check(optional ? field.innerType! : def.shape![key]!, 'x');
      return `  x = v[${JSON.stringify(key)}];
  if (${optional ? `x !== undefined && !(${check})` : `x === undefined || !(${check})`}) return false;`;
    });
    const proto = this.constant(Object.prototype);
    const names = this.constant(keys);
    const isRequired = this.constant(required);
    const nameSet = this.constant(new Set(keys));
    // Keys by `for...in` (the object's enum cache, no array allocated per call): each must be
    // the next shape key, skipping only absent optional ones, so the input's order is zod's
    // output order; after the shape's keys, extras only where the object is loose.
    const extra = loose ? `if (key === "__proto__" || ${nameSet}.has(key)) return false;` : 'return false;';
    this.functions[Number(name.slice(1))] = `function ${name}(v) {
  if (typeof v !== "object" || v === null) return false;
  const p = Object.getPrototypeOf(v);
  if (p !== ${proto} && p !== null) return false;
  let x;
${values.join('\n')}
  let j = 0;
  for (const key in v) {
    while (j < ${keys.length} && ${names}[j] !== key) {
      if (${isRequired}[j]) return false;
      j++;
    }
    if (j < ${keys.length}) {
${anyOptional ? '      if (v[key] === undefined) return false;\n' : ''}      j++;
      continue;
    }
    ${extra}
  }
  return true;
}`;
    return name;
  }
}
