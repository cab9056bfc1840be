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
  id: number;
  /** Undefined for an unknown size. */
  size: number | undefined;
  /** Where the element's data starts. */
  data: number;
}

type HeadStatus = 'ok' | 'garbage' | 'cut';

/**
 * Parse the element header at `pos` (clipped to `bound`) straight from the window into `out`,
 * allocating nothing: a file of millions of two-byte Void elements costs tens of nanoseconds
 * per element. The caller made sure the window holds 12 bytes at `pos` (or the rest of the file).
 */
function parseHead(s: Source, pos: number, bound: number, out: Head): HeadStatus {
  const w = s.window;
  const o = pos - s.windowAt;
  const avail = Math.min(12, bound - pos, s.size - pos);
  // The id: 1 to 4 bytes, marker bit kept; all ones is reserved.
  const first = w[o] ?? 0;
  if (avail <= 0) return 'cut';
  if (first < 0x10) return 'garbage';
  const idLen = first >= 0x80 ? 1 : first >= 0x40 ? 2 : first >= 0x20 ? 3 : 4;
  if (idLen + 1 > avail) return 'cut';
  let id = first;
  let idOnes = (first & (0xff >> idLen)) === 0xff >> idLen;
  for (let i = 1; i < idLen; i++) {
    const x = w[o + i] ?? 0;
    id = id * 256 + x;
    if (x !== 0xff) idOnes = false;
  }
  if (idOnes) return 'garbage';
  // The size: 1 to 8 bytes; all value bits set means unknown.
  const sf = w[o + idLen] ?? 0;
  if (sf === 0) return 'garbage';
  let sizeLen = 1;
  while ((sf & (0x80 >> (sizeLen - 1))) === 0) sizeLen++;
  if (idLen + sizeLen > avail) return 'cut';
  const mask = 0xff >> sizeLen;
  let size = sf & mask;
  let ones = size === mask;
  for (let i = 1; i < sizeLen; i++) {
    const x = w[o + idLen + i] ?? 0;
    size = size * 256 + x;
    if (x !== 0xff) ones = false;
  }
  out.id = id;
  out.size = ones ? undefined : size;
  out.data = pos + idLen + sizeLen;
  return 'ok';
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
  const head: Head = { id: 0, size: 0, data: 0 };
  let pos = at;
  while (pos < limit) {
    if (!s.has(pos, 12)) await s.fill(pos, 12);
    const status = parseHead(s, pos, limit, head);
    if (status === 'cut') {
      if (end === undefined && limit === s.size) ctx.fail('truncated', pos, `the file ends inside an element header at byte ${pos} (in ${name})`);
      ctx.fail('malformed', pos, `${limit - pos} bytes at the end of ${name} (byte ${pos}) do not form an element`);
    }
    if (status === 'garbage' || (children !== undefined && !children.has(head.id) && !GLOBAL_IDS.has(head.id))) {
      if (end === undefined) return pos; // an unknown-size master ends where its children end
      ctx.fail('malformed', pos, `garbage where an element of ${name} must start at byte ${pos}`);
    }
    const parent = end === undefined && limit === s.size ? undefined : name;
    pos = isLeaf(head) ? leafEnd(ctx, head, pos, limit, parent) : await walkElement(s, ctx, { ...head }, pos, limit, parent, depth + 1);
  }
  return pos;
}

const isLeaf = (head: Head): boolean => head.size !== undefined && !MASTERS.has(head.id);

/** Where a leaf element ends (checked against its parent). */
function leafEnd(ctx: WalkContext, head: Head, pos: number, limit: number, parent: string | undefined): number {
  ctx.elements++;
  const end = head.data + (head.size ?? 0);
  if (end > limit) ctx.beyond(`element ${ebmlName(head.id)}`, pos, end - pos, limit, parent);
  return end;
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
  const head: Head = { id: 0, size: 0, data: 0 };
  while (pos < s.size) {
    if (!s.has(pos, 12)) await s.fill(pos, 12);
    const status = parseHead(s, pos, s.size, head);
    if (pos === 0 && (status !== 'ok' || head.id !== EBML_HEADER || head.size === undefined)) ctx.fail('malformed', 0, 'the file does not start with an EBML header');
    if (status === 'cut') ctx.fail('truncated', pos, `the file ends inside an element header at byte ${pos}`);
    if (status === 'garbage') ctx.trailing(pos, 'Matroska segment');
    if (pos > 0) {
      if (head.id === EBML_HEADER) ctx.fail('trailing-data', pos, `a second EBML header at byte ${pos} starts another Matroska file appended after the first (a polyglot)`);
      if (head.id === SEGMENT && segments > 0) ctx.fail('trailing-data', pos, `a second Segment at byte ${pos}: a Matroska file holds one`);
      if (head.id !== SEGMENT && head.id !== VOID) ctx.trailing(pos, 'Matroska segment');
    }
    if (head.id === SEGMENT) segments++;
    pos = await walkElement(s, ctx, { ...head }, pos, s.size, undefined, 1);
  }
  if (segments === 0) ctx.fail('truncated', s.size, 'the file has no Segment after its EBML header (truncated)');
}
