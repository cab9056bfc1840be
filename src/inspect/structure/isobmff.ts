/**
 * ISO-BMFF (mp4, mov, m4a, 3gp): boxes tile the file, and the children of the boxes that hold
 * the movie (moov, trak, mdia, minf, stbl, udta, meta, moof, ...) tile their parent. Decided
 * explicitly:
 *   - a size-0 box ("runs to the end of the file") is unverified: nothing proves where it ends,
 *     so whatever was appended after it would be hidden inside it;
 *   - ftyp, moov, mfra and a top-level meta must be unique: a second ftyp starts another file
 *     (an mp4 followed by a whole mov), a second moov is a second movie;
 *   - a file without moov is truncated (a recording never finalised);
 *   - slack bytes at the end of a container that do not form a box are malformed, except
 *     QuickTime's 4 zero bytes that may end a udta (a named tolerance).
 * Sample entries (inside stsd) and leaf boxes are bounded by their parent, not walked inside.
 * Box types are compared as 32-bit integers and headers read straight from the window: a file
 * of millions of tiny boxes costs a few tens of nanoseconds per box.
 */
import { printable4, showFourcc, type WalkContext } from './report.js';
import type { Source } from './source.js';

const code = (t: string): number => Buffer.from(t, 'latin1').readUInt32BE(0);
const FTYP = code('ftyp');
const MOOV = code('moov');
const META = code('meta');
const UDTA = code('udta');
const ILST = code('ilst');
const HDLR = code('hdlr');

/** Containers whose children are walked, with the bytes before the first child. */
const CONTAINERS: ReadonlyMap<number, number> = new Map([
  ...['moov', 'trak', 'mdia', 'minf', 'stbl', 'dinf', 'edts', 'udta', 'mvex', 'moof', 'traf', 'mfra', 'tref', 'ilst', 'sinf', 'schi'].map((t) => [code(t), 0] as const),
  [code('dref'), 8],
  [code('stsd'), 8],
]);
const UNIQUE_TOP: ReadonlySet<number> = new Set([FTYP, MOOV, code('mfra'), META]);
/** `meta` is a full box in ISO files and a plain container in QuickTime: told apart by its first child. */
const hasChildren = (type: number): boolean => type === META || CONTAINERS.has(type);

interface Box {
  readonly type: number;
  readonly header: number;
  /** Total size in bytes; 0 means "to the end of the file". */
  readonly size: number;
}

/** The box header at `pos`, read from the window (the caller made sure it holds 16 bytes or EOF). */
function parseBox(s: Source, ctx: WalkContext, pos: number, end: number, parent: string | undefined): Box {
  const w = s.window;
  const o = pos - s.windowAt;
  const avail = Math.min(16, s.size - pos);
  let size = w.readUInt32BE(o);
  const type = w.readUInt32BE(o + 4);
  let header = 8;
  if (size === 1) {
    if (avail < 16 || pos + 16 > end) ctx.beyond(nameAt(s, pos), pos, 16, end, parent);
    size = Number(w.readBigUInt64BE(o + 8));
    header = 16;
  }
  if (size !== 0 && size < header) ctx.fail('malformed', pos, `${nameAt(s, pos)} at byte ${pos} has an impossible size of ${size}`);
  return { type, header, size };
}

/** `box "type"` for messages, from the window. */
function nameAt(s: Source, pos: number): string {
  return `box "${showFourcc(s.window, pos - s.windowAt + 4)}"`;
}

/** The children of the box of type `parent` that ends at `end`, from `first`. */
async function walkChildren(s: Source, ctx: WalkContext, parent: string, parentType: number, first: number, end: number, depth: number): Promise<void> {
  ctx.depth(first, `box "${parent}"`, depth);
  const inIlst = parentType === ILST;
  let pos = first;
  while (pos < end) {
    if (end - pos < 8) {
      const rest = s.peek(pos, end - pos) ?? (await s.bytes(pos, end - pos));
      if (parentType === UDTA && end - pos === 4 && rest.readUInt32BE(0) === 0 && ctx.tolerate('isobmff-udta-zero-terminator', pos, 'udta ends with a 32-bit zero')) return;
      ctx.fail('malformed', pos, `${end - pos} bytes at the end of box "${parent}" (byte ${pos}) do not form a box (slack bytes that belong to nothing)`);
    }
    if (!s.has(pos, 16)) await s.fill(pos, 16);
    const box = parseBox(s, ctx, pos, end, `box "${parent}"`);
    if (box.size === 0) ctx.fail('malformed', pos, `${nameAt(s, pos)} at byte ${pos} inside "${parent}" has size 0 (only a top-level box may run to the end of the file)`);
    if (pos + box.size > end) ctx.beyond(nameAt(s, pos), pos, box.size, end, `box "${parent}"`);
    ctx.elements++;
    if (inIlst || hasChildren(box.type)) await walkInside(s, ctx, box, pos, depth + 1, inIlst);
    pos += box.size;
  }
}

async function walkInside(s: Source, ctx: WalkContext, box: Box, pos: number, depth: number, ilstItem: boolean): Promise<void> {
  const bodyAt = pos + box.header;
  const end = pos + box.size;
  const b = s.peek(pos, box.header + 12) ?? (await s.bytes(pos, box.header + 12));
  const name = showFourcc(b, 4);
  let skip = ilstItem ? 0 : (CONTAINERS.get(box.type) ?? 0);
  // ISO meta: version/flags, then hdlr. QuickTime meta: hdlr straight away.
  if (box.type === META && !ilstItem) skip = b.length >= box.header + 8 && b.readUInt32BE(box.header + 4) === HDLR ? 0 : 4;
  if (bodyAt + skip > end) ctx.fail('malformed', pos, `box "${name}" at byte ${pos} is too short (${box.size} bytes) for its own header`);
  return walkChildren(s, ctx, name, box.type, bodyAt + skip, end, depth);
}

export async function walkIsoBmff(s: Source, ctx: WalkContext): Promise<void> {
  const seen = new Set<number>();
  let pos = 0;
  while (pos < s.size) {
    if (!s.has(pos, 16)) await s.fill(pos, 16);
    const o = pos - s.windowAt;
    if (s.size - pos < 8 || !printable4(s.window, o + 4)) {
      if (pos === 0) ctx.fail('malformed', 0, 'the file does not start with an ISO-BMFF box');
      ctx.trailing(pos, 'last ISO-BMFF box');
    }
    const box = parseBox(s, ctx, pos, s.size, undefined);
    if (box.size === 0) {
      ctx.fail('unverified', pos, `${nameAt(s, pos)} at byte ${pos} has size 0 ("to the end of the file"): where it really ends cannot be verified, so anything appended after it would be hidden inside it`);
    }
    if (pos + box.size > s.size) ctx.beyond(nameAt(s, pos), pos, box.size, s.size, undefined);
    if (UNIQUE_TOP.has(box.type)) {
      if (seen.has(box.type)) {
        if (box.type === FTYP) ctx.fail('trailing-data', pos, `a second ftyp box at byte ${pos} starts another file appended after the first (a polyglot)`);
        ctx.fail('malformed', pos, `a second top-level "${showFourcc(s.window, o + 4)}" box at byte ${pos}; there may be only one (a second movie hidden behind the first)`);
      }
      seen.add(box.type);
    }
    ctx.elements++;
    if (hasChildren(box.type)) await walkInside(s, ctx, box, pos, 1, false);
    pos += box.size;
  }
  if (!seen.has(MOOV)) ctx.fail('truncated', s.size, 'the file has no "moov" box (the movie header): a recording that was never finalised, or a cut file');
}
