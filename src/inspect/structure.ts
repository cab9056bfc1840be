/**
 * The container's own framing, walked by small bounds-checked parsers before any decoder runs
 * (one per container in structure/): ISO-BMFF boxes, RIFF chunks (WAV, AVI), EBML elements
 * (Matroska, WebM), Ogg pages, PNG chunks, JPEG segments, MP3, ADTS (AAC) and FLAC frames with
 * their ID3/APE tags. The contract is "complete or refused" (structure/report.ts): every byte of the
 * file is proved to belong to an element, at the top level and inside the containers that
 * matter, or the report names the problem. What this finds:
 *   - truncation and lying sizes: an element that declares more bytes than the file or its
 *     parent holds (a cut download, or a header claiming hours of audio that are not there);
 *   - trailing data and second containers: bytes after the container's end, or a second file
 *     (how polyglots are built: a PNG followed by an mp4, an mp4 followed by a whole mov);
 *   - garbage where an element must start, duplicates of what must be unique, slack bytes;
 *   - what it cannot verify (a size-0 box, a free-format MP3 frame, a limit of the walk);
 *   - the dimensions an image header declares, checked against the policy whatever ffprobe
 *     manages to report (a decoder that rejects a 100000 × 100000 IHDR reports 0 × 0).
 * Each walk runs in time linear in the file and holds one read window in memory.
 */
import { WalkContext, WalkStop, type StructureReport } from './structure/report.js';
import { Source, type ReadAt } from './structure/source.js';
import { DEFAULT_TOLERANCES, type Tolerances } from './structure/tolerance.js';
import { walkIsoBmff } from './structure/isobmff.js';
import { walkRiff } from './structure/riff.js';
import { walkEbml } from './structure/ebml.js';
import { walkOgg } from './structure/ogg.js';
import { walkPng } from './structure/png.js';
import { walkJpeg } from './structure/jpeg.js';
import { walkMp3 } from './structure/mp3.js';
import { walkFlac } from './structure/flac.js';
import { walkAdts } from './structure/adts.js';

export type { ReadAt } from './structure/source.js';
export type { StructureProblem, StructureProblemKind, StructureReport, ToleratedQuirk } from './structure/report.js';
export { TOLERANCES, DEFAULT_TOLERANCES, type ToleranceName, type Tolerances } from './structure/tolerance.js';

type Walker = (s: Source, ctx: WalkContext) => Promise<void>;

const ISOBMFF: readonly [string, Walker] = ['isobmff', walkIsoBmff];
const EBML: readonly [string, Walker] = ['ebml', walkEbml];
const OGG: readonly [string, Walker] = ['ogg', walkOgg];

/** The walker for each magic type (file-type's extension). */
const WALKERS: ReadonlyMap<string, readonly [string, Walker]> = new Map([
  ...['mp4', 'mov', 'm4a', 'm4v', 'm4b', 'm4p', '3gp', '3g2', 'f4v'].map((t) => [t, ISOBMFF] as const),
  ['wav', ['riff-wave', (s, ctx) => walkRiff(s, ctx, 'WAVE')]],
  ['avi', ['riff-avi', (s, ctx) => walkRiff(s, ctx, 'AVI ')]],
  ...['mkv', 'webm', 'mka'].map((t) => [t, EBML] as const),
  ...['ogg', 'oga', 'ogv', 'ogx', 'opus', 'spx'].map((t) => [t, OGG] as const),
  ['png', ['png', walkPng]],
  ['apng', ['png', walkPng]],
  ['jpg', ['jpeg', walkJpeg]],
  ['mp3', ['mp3', walkMp3]],
  ['flac', ['flac', walkFlac]],
  ['aac', ['adts', walkAdts]],
]);

/** Walk the container named by the magic bytes (file-type's extension). */
export async function walkStructure(readAt: ReadAt, size: number, magicType: string | undefined, opts: { tolerances?: Tolerances } = {}): Promise<StructureReport> {
  const entry = magicType === undefined ? undefined : WALKERS.get(magicType);
  if (entry === undefined) return { walker: undefined, problems: [], complete: false };
  const [walker, walk] = entry;
  const ctx = new WalkContext(size, opts.tolerances ?? DEFAULT_TOLERANCES);
  let problems: StructureReport['problems'] = [];
  try {
    if (size === 0) ctx.fail('truncated', 0, 'the file is empty');
    await walk(new Source(readAt, size), ctx);
  } catch (e) {
    if (!(e instanceof WalkStop)) throw e;
    problems = [e.problem];
  }
  return {
    walker,
    problems,
    complete: true,
    elements: ctx.elements,
    ...(ctx.declared ? { declared: ctx.declared } : {}),
    ...(ctx.tolerated.length > 0 ? { tolerated: ctx.tolerated } : {}),
  };
}

/** Convenience for tests and small inputs: walk an in-memory buffer. */
export function walkBuffer(buf: Buffer, magicType: string | undefined, opts: { tolerances?: Tolerances } = {}): Promise<StructureReport> {
  return walkStructure(async (into, position) => {
    if (position >= buf.length) return 0;
    return buf.copy(into, 0, position, Math.min(buf.length, position + into.length));
  }, buf.length, magicType, opts);
}
