/**
 * Pure: the dynamic loader's search order, and whether a new order can change what any symbol
 * reference is bound to (see order.ts for how it is used).
 *
 * The loader binds a reference to the first object in its search order that defines the symbol
 * (with the version asked for, and other conditions). Whatever those conditions, the answer is
 * the same in two orders when, for every symbol name, the objects that define it come in the
 * same relative order in both: a first match over the same sequence is the same match. That is
 * the rule here, by name and regardless of version (stricter than the loader), for every name
 * some object refers to. Names no one refers to are never looked up by a relocation: every
 * shared object defines `_end` and `_edata`, and counting those would forbid any order.
 */
import type { DynamicSymbols } from './elf.js';

/**
 * The objects `ld.so --list` printed, in the order it loaded them (for the program's own load,
 * its search order after the program itself). The vDSO (no file) is left out; a library that
 * was not found, or any other entry without a path, is a problem.
 */
export function parseLoadList(text: string): string[] | { readonly problem: string } {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(.*?) \(0x[0-9a-f]+\)$/.exec(line);
    if (!m?.[1]) return { problem: `the loader listed "${line.slice(0, 200)}"` };
    const entry = m[1];
    const arrow = entry.indexOf(' => ');
    const file = arrow >= 0 ? entry.slice(arrow + 4) : entry;
    if (file.startsWith('/')) out.push(file);
    else if (!/^linux-(vdso|gate)\.so\.\d+$/.test(file)) return { problem: `the loader listed "${line.slice(0, 200)}" without a path` };
  }
  return out;
}

export type SymbolsOf = (object: string) => DynamicSymbols | undefined;

/** The first object of `order` that defines each symbol name. */
function firstDefiners(order: readonly string[], symbols: SymbolsOf): Map<string, string> {
  const first = new Map<string, string>();
  for (const o of order) for (const n of symbols(o)?.defined ?? []) if (!first.has(n)) first.set(n, o);
  return first;
}

/**
 * The first guess: the `count` objects that most references are bound to (each wanted symbol of
 * `program` and of every object, bound to its first definer), without `exclude` (the loader).
 */
export function busiestDefiners(program: string, order: readonly string[], symbols: SymbolsOf, count: number, exclude: ReadonlySet<string>): Set<string> {
  const first = firstDefiners(order, symbols);
  const hits = new Map<string, number>();
  for (const o of [program, ...order]) {
    for (const n of symbols(o)?.wanted ?? []) {
      const d = first.get(n);
      if (d !== undefined) hits.set(d, (hits.get(d) ?? 0) + 1);
    }
  }
  return new Set(
    [...hits.entries()]
      .filter(([d]) => !exclude.has(d))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, count)
      .map(([d]) => d),
  );
}

/** `chosen` in `order`'s own order. */
export function inOrder(chosen: ReadonlySet<string>, order: readonly string[]): string[] {
  return order.filter((o) => chosen.has(o));
}

export type OrderCheck =
  | { readonly same: true }
  | { readonly same: false; readonly problem: string }
  /** Objects another definer of one of their symbols now comes before: they must move up too. */
  | { readonly same: false; readonly overtaken: ReadonlySet<string> };

/** Every name `objects` refer to (their undefined dynamic symbols). */
export function referencedNames(objects: readonly string[], symbols: SymbolsOf): Set<string> {
  const out = new Set<string>();
  for (const o of objects) for (const n of symbols(o)?.wanted ?? []) out.add(n);
  return out;
}

/**
 * Whether `after` binds every reference as `before` does: the same objects, and for every name in
 * `referenced`, its definers in the same relative order. Every object's symbols must be known.
 */
export function compareOrders(before: readonly string[], after: readonly string[], symbols: SymbolsOf, referenced: ReadonlySet<string>): OrderCheck {
  if (new Set(before).size !== before.length || new Set(after).size !== after.length) return { same: false, problem: 'an object is listed twice' };
  const position = new Map(after.map((o, i) => [o, i] as const));
  if (before.length !== after.length || before.some((o) => !position.has(o))) return { same: false, problem: 'the two orders load different objects' };
  const definers = new Map<string, string[]>();
  for (const o of before) {
    const s = symbols(o);
    if (!s) return { same: false, problem: `the symbols of ${o} are unknown` };
    for (const n of s.defined) {
      if (!referenced.has(n)) continue;
      const list = definers.get(n);
      if (list) list.push(o);
      else definers.set(n, [o]);
    }
  }
  const overtaken = new Set<string>();
  for (const list of definers.values()) {
    for (let i = 1; i < list.length; i++) {
      const earlier = list[i - 1] as string;
      const later = list[i] as string;
      if ((position.get(earlier) ?? 0) > (position.get(later) ?? 0)) overtaken.add(earlier);
    }
  }
  return overtaken.size === 0 ? { same: true } : { same: false, overtaken };
}
