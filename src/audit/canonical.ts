/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - object members sorted by their names compared as UTF-16 code units;
 * - numbers in ECMAScript Number-to-String form (so -0 is "0", 1e21 is "1e+21");
 * - strings escaped as ECMAScript JSON.stringify does (which is what JCS specifies);
 * - no insignificant whitespace.
 *
 * Input must be JSON data: null, booleans, finite numbers, well-formed strings,
 * arrays and plain objects. Anything else (NaN, Infinity, bigint, undefined in an
 * array, functions, symbols, class instances, lone surrogates, cycles) throws.
 * An object property whose value is `undefined` is omitted, as JSON.stringify
 * does, so optional TypeScript fields need no special care.
 */

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Nesting deeper than this throws (JSON data we sign nests a few levels; recursion must stay bounded). */
export const MAX_CANONICAL_DEPTH = 100;

export function canonicalize(value: unknown, maxDepth = MAX_CANONICAL_DEPTH): string {
  return encode(value, [], '$', maxDepth);
}

function encode(value: unknown, stack: object[], path: string, maxDepth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonicalize: ${path} is ${String(value)}; JSON numbers must be finite`);
      // ECMAScript Number::toString, which JSON.stringify uses; -0 becomes "0".
      return JSON.stringify(value);
    case 'string':
      return encodeString(value, path);
    case 'object':
      return encodeContainer(value, stack, path, maxDepth);
    default:
      throw new Error(`canonicalize: ${path} is a ${typeof value}; expected JSON data`);
  }
}

function encodeString(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new Error(`canonicalize: ${path} contains a lone UTF-16 surrogate`);
  return JSON.stringify(s);
}

function encodeContainer(value: object, stack: object[], path: string, maxDepth: number): string {
  if (stack.length >= maxDepth) throw new Error(`canonicalize: ${path.slice(0, 200)} nests deeper than ${maxDepth} levels`);
  if (stack.includes(value)) throw new Error(`canonicalize: ${path} is a cycle`);
  stack.push(value);
  try {
    if (Array.isArray(value)) {
      const parts: string[] = [];
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === undefined) throw new Error(`canonicalize: ${path}[${i}] is undefined (or a hole); arrays must hold JSON values`);
        parts.push(encode(item, stack, `${path}[${i}]`, maxDepth));
      }
      return `[${parts.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`canonicalize: ${path} is a ${value.constructor?.name ?? 'non-plain'} object; expected a plain object`);
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort(); // default sort compares UTF-16 code units
    const parts: string[] = [];
    for (const key of keys) {
      const v = record[key];
      if (v === undefined) continue;
      parts.push(`${encodeString(key, path)}:${encode(v, stack, `${path}.${key}`, maxDepth)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    stack.pop();
  }
}
