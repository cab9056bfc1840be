/**
 * EBML (Matroska, WebM): elements tile the file, and the children of every master tile the
 * master. An element of unknown size (a live WebM's Segment and Clusters) is resolved by its
 * children: it ends at the first element that cannot be its child, or at the end of the file.
 * So a live recording whose Clusters run to the end of the file is complete, and anything
 * appended after it is either an element that cannot belong there (trailing data) or a second
 * EBML header or Segment (a second container). Decided explicitly:
 *   - unknown sizes only on Segment and Cluster (as Matroska allows), malformed elsewhere;
 *   - after the EBML header only one Segment, and Void elements, at the top level;
 *   - a file without a Segment is truncated.
 */
import type { WalkContext } from './report.js';
import type { Source } from './source.js';
import { EBML_HEADER, GLOBAL_IDS, MASTERS, SEGMENT, UNKNOWN_SIZE_CHILDREN, VOID, ebmlName } from './ebml-ids.js';

interface Head {
  readonly id: number;
  /** Undefined for an unknown size. */
  readonly size: number | undefined;
  /** Where the element's data starts. */
  readonly data: number;
}

type HeadResult = Head | 'garbage' | 'cut';

/** An EBML variable-length integer at `at`: its length and value (ids keep their marker bit). */
function vint(b: Buffer, at: number, maxLen: number, keepMarker: boolean): { len: number; value: number; allOnes: boolean } | 'garbage' | 'cut' {
  const first = b[at];
  if (first === undefined) return 'cut';
  if (first === 0) return 'garbage';
  let len = 1;
  while ((first & (0x80 >> (len - 1))) === 0) len++;
  if (len > maxLen) return 'garbage';
  if (at + len > b.length) return 'cut';
  const mask = 0xff >> len;
  let value = keepMarker ? first : first & mask;
  let allOnes = (first & mask) === mask;
  for (let i = 1; i < len; i++) {
    const x = b[at + i] ?? 0;
    value = value * 256 + x;
    if (x !== 0xff) allOnes = false;
  }
  return { len, value, allOnes };
}

async function readHead(s: Source, pos: number, bound: number): Promise<HeadResult> {
  const h = s.peek(pos, 12) ?? (await s.bytes(pos, 12));
  const view = h.subarray(0, Math.max(0, Math.min(h.length, bound - pos)));
  const id = vint(view, 0, 4, true);
  if (typeof id === 'string') return id;
  if (id.allOnes) return 'garbage'; // reserved id
  const size = vint(view, id.len, 8, false);
  if (typeof size === 'string') return size;
  return { id: id.value, size: size.allOnes ? undefined : size.value, data: pos + id.len + size.len };
}

/**
 * Walk the data of master `id` from `at`. `end` is its end for a known size; undefined for an
 * unknown size, which then ends at the first id that is not its child, or at `bound` (its
 * parent's end, or the end of the file). Returns where the master ends.
 */
async function walkMaster(s: Source, ctx: WalkContext, id: number, at: number, end: number | undefined, bound: number, depth: number): Promise<number> {
  const name = ebmlName(id);
  ctx.depth(at, name, depth);
  const limit = end ?? bound;
  const children = end === undefined ? UNKNOWN_SIZE_CHILDREN.get(id) : undefined;
  let pos = at;
  while (pos < limit) {
    const head = await readHead(s, pos, limit);
    if (head === 'cut') {
      if (end === undefined && limit === s.size) ctx.fail('truncated', pos, `the file ends inside an element header at byte ${pos} (in ${name})`);
      ctx.fail('malformed', pos, `${limit - pos} bytes at the end of ${name} (byte ${pos}) do not form an element`);
    }
    if (head === 'garbage' || (children !== undefined && !children.has(head.id) && !GLOBAL_IDS.has(head.id))) {
      if (end === undefined) return pos; // an unknown-size master ends where its children end
      ctx.fail('malformed', pos, `garbage where an element of ${name} must start at byte ${pos}`);
    }
    pos = await walkElement(s, ctx, head, pos, limit, end === undefined && limit === s.size ? undefined : name, depth + 1);
  }
  return pos;
}

/** Walk one element (its header already read) inside a parent ending at `limit`; returns its end. */
async function walkElement(s: Source, ctx: WalkContext, head: Head, pos: number, limit: number, parent: string | undefined, depth: number): Promise<number> {
  ctx.elements++;
  const name = ebmlName(head.id);
  if (head.size === undefined) {
    if (!UNKNOWN_SIZE_CHILDREN.has(head.id)) ctx.fail('malformed', pos, `element ${name} at byte ${pos} has an unknown size, which only Segment and Cluster may have`);
    return walkMaster(s, ctx, head.id, head.data, undefined, limit, depth);
  }
  const end = head.data + head.size;
  if (end > limit) ctx.beyond(`element ${name}`, pos, end - pos, limit, parent);
  if (MASTERS.has(head.id)) await walkMaster(s, ctx, head.id, head.data, end, end, depth);
  return end;
}

export async function walkEbml(s: Source, ctx: WalkContext): Promise<void> {
  let pos = 0;
  let segments = 0;
  while (pos < s.size) {
    const head = await readHead(s, pos, s.size);
    if (pos === 0 && (typeof head === 'string' || head.id !== EBML_HEADER || head.size === undefined)) ctx.fail('malformed', 0, 'the file does not start with an EBML header');
    if (head === 'cut') ctx.fail('truncated', pos, `the file ends inside an element header at byte ${pos}`);
    if (head === 'garbage') ctx.trailing(pos, 'Matroska segment');
    if (pos > 0) {
      if (head.id === EBML_HEADER) ctx.fail('trailing-data', pos, `a second EBML header at byte ${pos} starts another Matroska file appended after the first (a polyglot)`);
      if (head.id === SEGMENT && segments > 0) ctx.fail('trailing-data', pos, `a second Segment at byte ${pos}: a Matroska file holds one`);
      if (head.id !== SEGMENT && head.id !== VOID) ctx.trailing(pos, 'Matroska segment');
    }
    if (head.id === SEGMENT) segments++;
    pos = await walkElement(s, ctx, head, pos, s.size, undefined, 1);
  }
  if (segments === 0) ctx.fail('truncated', s.size, 'the file has no Segment after its EBML header (truncated)');
}
