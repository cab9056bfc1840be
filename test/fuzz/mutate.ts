/**
 * Mutators. Structure-aware ones work on element trees (containers.ts): drop, duplicate, swap,
 * nest, hoist, insert an element from the format's dictionary, lie about a size, resize or
 * rewrite a body. Byte-level havoc and text havoc finish some inputs off.
 */
import type { El, SizeMode } from './containers.js';
import type { Rng } from './rng.js';

/** What the structure mutators may insert, per format. */
export interface Dictionary {
  /** A random element that may stand at any level. */
  leaf(rng: Rng): El;
  /** A random container wrapping `children`, or undefined for flat formats. */
  container?(rng: Rng, children: El[]): El;
  /** Size modes that make sense for the format. */
  readonly sizes: readonly SizeMode[];
}

type Path = readonly number[];

function childrenOf(el: El): El[] | undefined {
  return Buffer.isBuffer(el.body) ? undefined : [...(el.body as readonly El[])];
}

function paths(els: readonly El[], prefix: Path = [], out: Path[] = []): Path[] {
  els.forEach((el, i) => {
    const p = [...prefix, i];
    out.push(p);
    const kids = childrenOf(el);
    if (kids) paths(kids, p, out);
  });
  return out;
}

/** Apply `fn` to the list that holds the element at `path` (its siblings), immutably. */
function editSiblings(els: readonly El[], path: Path, fn: (list: El[], index: number) => El[]): El[] {
  const [head, ...rest] = path;
  if (head === undefined) return [...els];
  if (rest.length === 0) return fn([...els], head);
  return els.map((el, i) => (i === head ? { ...el, body: editSiblings(childrenOf(el) ?? [], rest, fn) } : el));
}

function at(els: readonly El[], path: Path): El | undefined {
  let list: readonly El[] | undefined = els;
  let el: El | undefined;
  for (const i of path) {
    el = list?.[i];
    list = el ? childrenOf(el) : undefined;
  }
  return el;
}

export function mutateTree(rng: Rng, els: readonly El[], dict: Dictionary): El[] {
  const all = paths(els);
  if (all.length === 0) return [dict.leaf(rng)];
  const p = rng.pick(all);
  const target = at(els, p);
  if (!target) return [...els];
  switch (rng.int(11)) {
    case 0:
      return editSiblings(els, p, (l, i) => (l.splice(i, 1), l));
    case 1:
      return editSiblings(els, p, (l, i) => (l.splice(i, 0, target), l));
    case 2:
      return editSiblings(els, p, (l, i) => {
        const j = rng.int(l.length);
        [l[i], l[j]] = [l[j]!, l[i]!];
        return l;
      });
    case 3:
      return editSiblings(els, p, (l, i) => (l.splice(i + rng.int(2), 0, dict.leaf(rng)), l));
    case 4:
      return editSiblings(els, p, (l, i) => ((l[i] = { ...target, size: rng.pick(dict.sizes) }), l));
    case 5: {
      // Resize or rewrite a leaf's body.
      if (!Buffer.isBuffer(target.body)) return editSiblings(els, p, (l, i) => ((l[i] = { ...target, body: [...(target.body as El[]), dict.leaf(rng)] }), l));
      const body = Buffer.from(target.body);
      const next = rng.bool() ? body.subarray(0, rng.int(body.length + 1)) : Buffer.concat([body, rng.bytes(rng.small(300))]);
      if (next.length > 0 && rng.bool()) next[rng.int(next.length)] = rng.int(256);
      return editSiblings(els, p, (l, i) => ((l[i] = { ...target, body: next }), l));
    }
    case 6:
      // Nest: wrap the element in a container (several levels, sometimes many).
      if (!dict.container) return mutateTree(rng, els, dict);
      return editSiblings(els, p, (l, i) => {
        let el = target;
        for (let k = rng.bool(0.1) ? 20 + rng.int(30) : 1 + rng.int(3); k > 0; k--) el = dict.container!(rng, [el]);
        l[i] = el;
        return l;
      });
    case 7: {
      // Hoist: move the element to the top level.
      if (p.length < 2) return mutateTree(rng, els, dict);
      const without = editSiblings(els, p, (l, i) => (l.splice(i, 1), l));
      without.splice(rng.int(without.length + 1), 0, target);
      return without;
    }
    case 8:
      // Move to the end (appended).
      return [...editSiblings(els, p, (l, i) => (l.splice(i, 1), l)), target];
    case 9:
      return editSiblings(els, p, (l, i) => ((l[i] = { ...dict.leaf(rng), size: target.size ?? 'exact' }), l));
    default:
      return [...els, ...els.slice(0, 1 + rng.int(els.length))];
  }
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 7, 8, 16, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0];

/** Byte-level havoc: a few flips, interesting values, inserts, deletes and copies. */
export function havoc(rng: Rng, input: Buffer, rounds = 1 + rng.small(8)): Buffer {
  let b: Buffer = Buffer.from(input);
  for (let r = 0; r < rounds; r++) {
    if (b.length === 0) b = rng.bytes(1 + rng.int(16));
    const i = rng.int(b.length);
    switch (rng.int(8)) {
      case 0:
        b[i] = (b[i] ?? 0) ^ (1 << rng.int(8));
        break;
      case 1:
        b[i] = rng.pick(INTERESTING_8);
        break;
      case 2:
        if (i + 4 <= b.length) b.writeUInt32BE(rng.pick(INTERESTING_32) >>> 0, i);
        break;
      case 3:
        if (i + 4 <= b.length) b.writeUInt32LE((b.readUInt32LE(i) + rng.int(17) - 8) >>> 0, i);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, i), rng.bytes(rng.small(64)), b.subarray(i)]);
        break;
      case 5:
        b = Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + rng.small(64)))]);
        break;
      case 6: {
        const from = rng.int(b.length);
        const len = rng.small(Math.min(256, b.length - from));
        b = Buffer.concat([b.subarray(0, i), b.subarray(from, from + len), b.subarray(i)]);
        break;
      }
      default:
        b[i] = rng.int(256);
    }
  }
  return b;
}

/** Text havoc over lines and characters, with `tokens` spliced in now and then. */
export function textHavoc(rng: Rng, text: string, tokens: readonly string[], rounds = 1 + rng.small(6)): string {
  let lines = text.split('\n');
  for (let r = 0; r < rounds; r++) {
    const i = rng.int(Math.max(1, lines.length));
    const line = lines[i] ?? '';
    switch (rng.int(7)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(rng.int(lines.length + 1), 0, line);
        break;
      case 2: {
        const c = rng.int(line.length + 1);
        lines[i] = line.slice(0, c) + rng.pick(tokens) + line.slice(c);
        break;
      }
      case 3: {
        const c = rng.int(Math.max(1, line.length));
        lines[i] = line.slice(0, c) + line.slice(c + 1 + rng.small(8));
        break;
      }
      case 4:
        lines.splice(rng.int(lines.length + 1), 0, rng.pick(tokens));
        break;
      case 5: {
        const c = rng.int(line.length + 1);
        lines[i] = line.slice(0, c) + String.fromCharCode(rng.int(0x80)) + line.slice(c);
        break;
      }
      default:
        lines = [...lines.slice(0, i), ...lines.slice(i, i + 1 + rng.small(10)), ...lines.slice(i)];
    }
  }
  return lines.join('\n');
}

/** Keys that must never change what an object built from untrusted keys is. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'] as const;
