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
 */
import { fourcc, printable4, showFourcc, type WalkContext } from './report.js';
import type { Source } from './source.js';

/** Containers whose children are walked, with the bytes before the first child. */
const CONTAINERS: ReadonlyMap<string, number> = new Map([
  ['moov', 0], ['trak', 0], ['mdia', 0], ['minf', 0], ['stbl', 0], ['dinf', 0], ['edts', 0], ['udta', 0],
  ['mvex', 0], ['moof', 0], ['traf', 0], ['mfra', 0], ['tref', 0], ['ilst', 0], ['sinf', 0], ['schi', 0],
  ['dref', 8], ['stsd', 8],
]);
/** `meta` is a full box in ISO files and a plain container in QuickTime; told apart by its first child. */
const META = 'meta';
/** The children of ilst are metadata items, each a container of data/mean/name boxes. */
const ILST = 'ilst';
const UNIQUE_TOP = new Set(['ftyp', 'moov', 'mfra', 'meta']);

interface Box {
  readonly type: string;
  readonly name: string;
  readonly header: number;
  /** Total size in bytes; 0 means "to the end of the file". */
  readonly size: number;
}

async function readBox(s: Source, ctx: WalkContext, pos: number, end: number, parent: string | undefined): Promise<Box> {
  const h = s.peek(pos, 16) ?? (await s.bytes(pos, 16));
  const name = `box "${showFourcc(h, 4)}"`;
  let size = h.readUInt32BE(0);
  let header = 8;
  if (size === 1) {
    if (h.length < 16 || pos + 16 > end) ctx.beyond(name, pos, 16, end, parent);
    size = Number(h.readBigUInt64BE(8));
    header = 16;
  }
  if (size !== 0 && size < header) ctx.fail('malformed', pos, `${name} at byte ${pos} has an impossible size of ${size}`);
  return { type: fourcc(h, 4), name, header, size };
}

/** The children of the box [start, end) of type `parent`, from `first`. */
async function walkChildren(s: Source, ctx: WalkContext, parent: string, first: number, end: number, depth: number): Promise<void> {
  ctx.depth(first, `box "${parent}"`, depth);
  const inIlst = parent === ILST;
  let pos = first;
  while (pos < end) {
    if (end - pos < 8) {
      const rest = s.peek(pos, end - pos) ?? (await s.bytes(pos, end - pos));
      if (parent === 'udta' && end - pos === 4 && rest.readUInt32BE(0) === 0 && ctx.tolerate('isobmff-udta-zero-terminator', pos, 'udta ends with a 32-bit zero')) return;
      ctx.fail('malformed', pos, `${end - pos} bytes at the end of box "${parent}" (byte ${pos}) do not form a box (slack bytes that belong to nothing)`);
    }
    const box = await readBox(s, ctx, pos, end, `box "${parent}"`);
    if (box.size === 0) ctx.fail('malformed', pos, `${box.name} at byte ${pos} inside "${parent}" has size 0 (only a top-level box may run to the end of the file)`);
    if (pos + box.size > end) ctx.beyond(box.name, pos, box.size, end, `box "${parent}"`);
    ctx.elements++;
    await walkInside(s, ctx, box, pos, depth + 1, inIlst);
    pos += box.size;
  }
}

async function walkInside(s: Source, ctx: WalkContext, box: Box, pos: number, depth: number, ilstItem: boolean): Promise<void> {
  const bodyAt = pos + box.header;
  const end = pos + box.size;
  if (ilstItem) return walkChildren(s, ctx, box.type, bodyAt, end, depth);
  if (box.type === META) {
    // ISO: version/flags, then hdlr. QuickTime: hdlr straight away.
    const b = s.peek(bodyAt, 12) ?? (await s.bytes(bodyAt, 12));
    const quicktime = b.length >= 8 && fourcc(b, 4) === 'hdlr';
    return walkChildren(s, ctx, META, bodyAt + (quicktime ? 0 : 4), end, depth);
  }
  const skip = CONTAINERS.get(box.type);
  if (skip === undefined) return;
  if (bodyAt + skip > end) ctx.fail('malformed', pos, `${box.name} at byte ${pos} is too short (${box.size} bytes) for its own header`);
  return walkChildren(s, ctx, box.type, bodyAt + skip, end, depth);
}

export async function walkIsoBmff(s: Source, ctx: WalkContext): Promise<void> {
  const seen = new Set<string>();
  let pos = 0;
  while (pos < s.size) {
    const h = s.peek(pos, 8) ?? (await s.bytes(pos, 8));
    if (h.length < 8 || !printable4(h, 4)) {
      if (pos === 0) ctx.fail('malformed', 0, 'the file does not start with an ISO-BMFF box');
      ctx.trailing(pos, 'last ISO-BMFF box');
    }
    const box = await readBox(s, ctx, pos, s.size, undefined);
    if (box.size === 0) {
      ctx.fail('unverified', pos, `${box.name} at byte ${pos} has size 0 ("to the end of the file"): where it really ends cannot be verified, so anything appended after it would be hidden inside it`);
    }
    if (pos + box.size > s.size) ctx.beyond(box.name, pos, box.size, s.size, undefined);
    if (UNIQUE_TOP.has(box.type)) {
      if (seen.has(box.type)) {
        if (box.type === 'ftyp') ctx.fail('trailing-data', pos, `a second ftyp box at byte ${pos} starts another file appended after the first (a polyglot)`);
        ctx.fail('malformed', pos, `a second top-level "${box.type}" box at byte ${pos}; there may be only one (a second movie hidden behind the first)`);
      }
      seen.add(box.type);
    }
    ctx.elements++;
    await walkInside(s, ctx, box, pos, 1, false);
    pos += box.size;
  }
  if (!seen.has('moov')) ctx.fail('truncated', s.size, 'the file has no "moov" box (the movie header): a recording that was never finalised, or a cut file');
}
