/**
 * The facts of an ISO-BMFF output (mp4, mov, m4a as ffmpeg's mov muxer writes them), read from
 * its `moov` on the host:
 *   - each track's kind (hdlr), codec (its one sample entry; for mp4a/mp4v the esds object
 *     type), picture size (visual sample entry), sample rate and channels (audio sample entry),
 *     duration (mdhd) and average frame rate (samples / duration); the movie's duration (mvhd);
 *   - where every sample lies (stsz, stsc, stco/co64): each chunk must sit inside an mdat, no
 *     two may overlap, and together they must fill the mdat payloads exactly. A byte of media
 *     data that no sample references is data hidden in the file, and is refused.
 * A fragmented file (moof), a second sample description or a compact size table (stz2) is not
 * read here: the sandboxed ffprobe decides (FactsUnsupported).
 */
import { BoxReader, childBoxes, onlyChild, requireChild, type Box } from './boxes.js';
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import type { ReadAt } from '../../inspect/structure.js';
import type { ProbeResult, ProbeStream } from '../../inspect/probe-result.js';

/** A moov larger than this is not held in memory (a 4-hour 8K movie's is a few MiB). */
export const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 4096;
const FORMAT_NAME = 'mov,mp4,m4a,3gp,3g2,mj2';

const VIDEO_CODECS: Readonly<Record<string, string>> = { avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc', vp09: 'vp9', vp08: 'vp8', av01: 'av1', jpeg: 'mjpeg', 'png ': 'png' };
const AUDIO_CODECS: Readonly<Record<string, string>> = { Opus: 'opus', fLaC: 'flac', 'ac-3': 'ac3', 'ec-3': 'eac3', alac: 'alac' };
/** ISO/IEC 14496-1 objectTypeIndication → ffmpeg codec, for mp4a and mp4v sample entries. */
const OBJECT_TYPES: Readonly<Record<number, string>> = { 0x40: 'aac', 0x66: 'aac', 0x67: 'aac', 0x68: 'aac', 0x69: 'mp3', 0x6b: 'mp3', 0x20: 'mpeg4', 0x6c: 'mjpeg', 0xa5: 'ac3', 0xa9: 'dts' };
const KINDS: Readonly<Record<string, string>> = { vide: 'video', soun: 'audio', text: 'subtitle', sbtl: 'subtitle', subt: 'subtitle', clcp: 'subtitle' };

interface TopLevel {
  readonly moov: { readonly at: number; readonly size: number };
  /** [start, end) of each mdat's payload. */
  readonly mdat: ReadonlyArray<readonly [number, number]>;
}

async function readExactly(readAt: ReadAt, buf: Buffer, pos: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const r = await readAt(buf.subarray(got), pos + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** Top-level boxes a muxer writes as reserved space: nothing may be hidden in them. */
const PADDING: ReadonlySet<string> = new Set(['free', 'skip', 'wide']);
const MAX_PADDING_BYTES = 1024 * 1024;

const showType = (t: string): string => t.replace(/[^\x20-\x7e]/g, '?');

async function checkPadding(readAt: ReadAt, type: string, from: number, to: number): Promise<void> {
  if (to - from > MAX_PADDING_BYTES) throw new FactsRefusal(`a "${type}" box of ${to - from} bytes`);
  if (to === from) return;
  const buf = Buffer.alloc(to - from);
  if ((await readExactly(readAt, buf, from)) !== buf.length || buf.some((b) => b !== 0)) {
    throw new FactsRefusal(`the "${type}" box at byte ${from} holds data (padding must be zeros)`);
  }
}

async function topLevel(readAt: ReadAt, size: number): Promise<TopLevel> {
  const head = Buffer.alloc(16);
  let moov: TopLevel['moov'] | undefined;
  const mdat: Array<readonly [number, number]> = [];
  let pos = 0;
  for (let n = 0; pos < size; n++) {
    if (n >= MAX_TOP_LEVEL_BOXES) throw new FactsUnsupported(`more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
    const got = await readExactly(readAt, head, pos);
    if (got < 8) throw new FactsRefusal(`${size - pos} stray bytes at the end of the file`);
    let boxSize = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    let header = 8;
    if (boxSize === 1 && got >= 16) {
      boxSize = Number(head.readBigUInt64BE(8));
      header = 16;
    }
    if (boxSize < header || pos + boxSize > size) throw new FactsRefusal(`top-level box "${type}" at byte ${pos} has a size of ${boxSize} that does not fit the file`);
    if (type === 'moof' || type === 'mvex') throw new FactsUnsupported('a fragmented mp4 (moof)');
    if (type === 'moov') {
      if (moov) throw new FactsRefusal('two moov boxes');
      moov = { at: pos, size: boxSize };
    } else if (type === 'mdat') {
      mdat.push([pos + header, pos + boxSize]);
    } else if (PADDING.has(type)) {
      await checkPadding(readAt, type, pos + header, pos + boxSize);
    } else if (type !== 'ftyp') {
      throw new FactsRefusal(`a top-level "${showType(type)}" box at byte ${pos}, which the muxer does not write`);
    }
    pos += boxSize;
  }
  if (!moov) throw new FactsRefusal('no moov box');
  return { moov, mdat };
}

/** mvhd and mdhd share their layout: timescale and duration after version, flags and two times. */
function timescaleAndDuration(r: BoxReader): { timescale: number; duration: number } {
  const v1 = r.u8(0) === 1;
  const timescale = r.u32(v1 ? 20 : 12);
  const duration = v1 ? r.u64(24) : r.u32(16);
  if (timescale === 0) throw new FactsRefusal(`box "${r.box.type}" declares a timescale of 0`);
  return { timescale, duration };
}

/** What an esds says: the object type and, for AAC, the channels and rate of its AudioSpecificConfig. */
interface Esds {
  readonly objectType: number;
  readonly channels?: number;
  readonly sampleRate?: number;
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** AudioSpecificConfig (ISO/IEC 14496-3): object type (5 bits, 31 = escape), rate index (4, 15 = explicit 24-bit rate), channel configuration (4). */
function audioSpecificConfig(r: BoxReader, off: number): { channels?: number; sampleRate?: number } {
  let bits = 0;
  let have = 0;
  let at = off;
  const take = (n: number): number => {
    while (have < n) {
      bits = (bits << 8) | r.u8(at++);
      have += 8;
    }
    have -= n;
    return (bits >>> have) & ((1 << n) - 1);
  };
  if (take(5) === 31) take(6);
  const rateIndex = take(4);
  const sampleRate = rateIndex === 15 ? take(24) : AAC_RATES[rateIndex];
  const config = take(4);
  // Configuration 7 is eight channels (7.1); 0 means "in the program config element".
  const channels = config === 7 ? 8 : config >= 1 && config <= 6 ? config : undefined;
  return { ...(sampleRate !== undefined ? { sampleRate } : {}), ...(channels !== undefined ? { channels } : {}) };
}

/** The esds: ES_Descriptor (3) → DecoderConfigDescriptor (4) → DecoderSpecificInfo (5). */
function readEsds(r: BoxReader): Esds {
  let off = 4; // version and flags
  const descriptor = (): { tag: number; len: number } => {
    const tag = r.u8(off++);
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const b = r.u8(off++);
      len = (len << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return { tag, len };
  };
  const es = descriptor();
  if (es.tag !== 3) throw new FactsRefusal(`esds starts with descriptor ${es.tag}, not an ES_Descriptor`);
  const flags = r.u8(off + 2);
  off += 3;
  if (flags & 0x80) off += 2;
  if (flags & 0x40) off += 1 + r.u8(off);
  if (flags & 0x20) off += 2;
  const dc = descriptor();
  if (dc.tag !== 4) throw new FactsRefusal(`esds holds descriptor ${dc.tag} where a DecoderConfigDescriptor belongs`);
  const objectType = r.u8(off);
  const dcEnd = off + dc.len;
  off += 13; // object type, stream type, buffer size, max and average bit rate
  if (OBJECT_TYPES[objectType] !== 'aac' || off + 2 > dcEnd) return { objectType };
  const dsi = descriptor();
  if (dsi.tag !== 5 || dsi.len < 2) return { objectType };
  return { objectType, ...audioSpecificConfig(r, off) };
}

/** The boxes inside a sample entry, from `off` (after the fields of its kind). */
function entryChildren(buf: Buffer, entry: Box, off: number): Box[] {
  return entry.body + off <= entry.end ? childBoxes(buf, entry.body + off, entry.end, `sample entry "${entry.type}"`) : [];
}

/** The esds of an mp4a/mp4v entry: a child, or (QuickTime) inside its "wave" child. */
function esdsOf(buf: Buffer, entry: Box, childrenAt: number): Esds {
  const where = `sample entry "${entry.type}"`;
  const kids = entryChildren(buf, entry, childrenAt);
  const wave = onlyChild(kids, 'wave', where);
  const esds = onlyChild(kids, 'esds', where) ?? (wave ? onlyChild(new BoxReader(buf, wave).children(0).filter((b) => b.type !== '\0\0\0\0'), 'esds', `${where} wave`) : undefined);
  if (!esds) throw new FactsUnsupported(`a "${entry.type}" sample entry without esds`);
  const e = readEsds(new BoxReader(buf, esds));
  if (!OBJECT_TYPES[e.objectType]) throw new FactsUnsupported(`an esds object type (0x${e.objectType.toString(16)}) this reader does not name`);
  return e;
}

interface Entry {
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
}

/** The one sample description of a track. */
function sampleEntry(buf: Buffer, stsd: BoxReader, kind: string): Entry {
  const count = stsd.u32(4);
  if (count !== 1) throw new FactsUnsupported(`${count} sample descriptions in one track`);
  const [entry] = stsd.children(8);
  if (!entry || stsd.children(8).length !== 1) throw new FactsRefusal('stsd holds other than the one sample entry it declares');
  const r = new BoxReader(buf, entry);
  const fourcc = entry.type;
  if (kind === 'video') {
    // SampleEntry (8) + VisualSampleEntry: pre_defined/reserved (16), width, height, ... (70 bytes in all).
    const width = r.u16(24);
    const height = r.u16(26);
    const codec = fourcc === 'mp4v' ? OBJECT_TYPES[esdsOf(buf, entry, 78).objectType] : VIDEO_CODECS[fourcc];
    if (!codec) throw new FactsUnsupported(`video sample entry "${fourcc}"`);
    return { codec, width, height };
  }
  if (kind === 'audio') {
    // SampleEntry (8) + AudioSampleEntry: version, revision, vendor (8), channels, sample size,
    // compression id, packet size, rate 16.16 (12); QuickTime versions 1 and 2 add 16 and 36 bytes.
    const version = r.u16(8);
    if (version > 2) throw new FactsRefusal(`audio sample entry "${fourcc}" of version ${version}`);
    const childrenAt = 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
    const channels = version === 2 ? r.u32(40) : r.u16(16);
    const sampleRate = version === 2 ? r.buffer.readDoubleBE(r.table(32, 1, 8)) : r.u32(24) >>> 16;
    if (!Number.isFinite(sampleRate) || sampleRate < 0) throw new FactsRefusal(`audio sample entry "${fourcc}" declares a sample rate of ${sampleRate}`);
    if (fourcc === 'mp4a') {
      // The sample entry's channel count and rate are placeholders for AAC (ffmpeg writes 2); its AudioSpecificConfig is what decoders use.
      const e = esdsOf(buf, entry, childrenAt);
      return { codec: OBJECT_TYPES[e.objectType] as string, sampleRate: e.sampleRate ?? sampleRate, channels: e.channels ?? channels };
    }
    const codec = AUDIO_CODECS[fourcc];
    if (!codec) throw new FactsUnsupported(`audio sample entry "${fourcc}"`);
    return { codec, sampleRate, channels };
  }
  throw new FactsUnsupported(`a track of handler "${kind}"`);
}

/** [offset, length] of every chunk of a track, from its sample tables; also its sample count. */
function chunksOf(stbl: Box[], buf: Buffer): { chunks: Array<readonly [number, number]>; samples: number } {
  if (onlyChild(stbl, 'stz2', 'stbl')) throw new FactsUnsupported('a compact sample size table (stz2)');
  const stsz = new BoxReader(buf, requireChild(stbl, 'stsz', 'stbl'));
  const stsc = new BoxReader(buf, requireChild(stbl, 'stsc', 'stbl'));
  const co64 = onlyChild(stbl, 'co64', 'stbl');
  const stcoBox = onlyChild(stbl, 'stco', 'stbl');
  if (co64 && stcoBox) throw new FactsRefusal('both stco and co64 in one track');
  const stco = new BoxReader(buf, co64 ?? requireChild(stbl, 'stco', 'stbl'));
  const wide = co64 !== undefined;

  const fixed = stsz.u32(4);
  const samples = stsz.u32(8);
  const sizesAt = fixed === 0 ? stsz.table(12, samples, 4) : 0;
  const runs = stsc.u32(4);
  const runsAt = stsc.table(8, runs, 12);
  const chunkCount = stco.u32(4);
  const offsetsAt = stco.table(8, chunkCount, wide ? 8 : 4);

  const chunks: Array<readonly [number, number]> = [];
  let sample = 0;
  for (let run = 0; run < runs; run++) {
    const first = buf.readUInt32BE(runsAt + run * 12);
    const perChunk = buf.readUInt32BE(runsAt + run * 12 + 4);
    const next = run + 1 < runs ? buf.readUInt32BE(runsAt + (run + 1) * 12) : chunkCount + 1;
    if (first < 1 || next <= first || next > chunkCount + 1) throw new FactsRefusal(`stsc run ${run + 1} names chunks ${first} to ${next - 1} of ${chunkCount}`);
    for (let c = first; c < next; c++) {
      if (sample + perChunk > samples) throw new FactsRefusal(`the chunks hold more samples than stsz's ${samples}`);
      const offset = wide ? Number(buf.readBigUInt64BE(offsetsAt + (c - 1) * 8)) : buf.readUInt32BE(offsetsAt + (c - 1) * 4);
      let length = fixed * perChunk;
      if (fixed === 0) for (let i = 0; i < perChunk; i++) length += buf.readUInt32BE(sizesAt + (sample + i) * 4);
      sample += perChunk;
      chunks.push([offset, length]);
    }
  }
  if (sample !== samples) throw new FactsRefusal(`the chunks hold ${sample} samples but stsz declares ${samples}`);
  return { chunks, samples };
}

/** Every chunk inside an mdat, none overlapping, together filling every mdat payload exactly. */
function checkCoverage(chunks: Array<readonly [number, number]>, mdat: TopLevel['mdat']): void {
  const sorted = chunks.filter(([, len]) => len > 0).sort((a, b) => a[0] - b[0]);
  let payload = 0;
  for (const [s, e] of mdat) payload += e - s;
  let covered = 0;
  let last = -1;
  for (const [off, len] of sorted) {
    if (off < last) throw new FactsRefusal(`two chunks overlap at byte ${off}`);
    if (!mdat.some(([s, e]) => off >= s && off + len <= e)) throw new FactsRefusal(`a chunk of ${len} bytes at byte ${off} lies outside every mdat`);
    covered += len;
    last = off + len;
  }
  if (covered !== payload) {
    throw new FactsRefusal(`${payload - covered} of the ${payload} bytes of media data (mdat) belong to no sample: data hidden in the file`);
  }
}

function trackFacts(buf: Buffer, trak: Box, index: number, chunks: Array<readonly [number, number]>): ProbeStream {
  const where = `trak ${index + 1}`;
  const mdia = requireChild(new BoxReader(buf, trak).children(0), 'mdia', where);
  const mdiaKids = new BoxReader(buf, mdia).children(0);
  const handler = new BoxReader(buf, requireChild(mdiaKids, 'hdlr', `${where} mdia`)).fourcc(8);
  const kind = KINDS[handler] ?? 'data';
  const { timescale, duration } = timescaleAndDuration(new BoxReader(buf, requireChild(mdiaKids, 'mdhd', `${where} mdia`)));
  const minf = requireChild(mdiaKids, 'minf', `${where} mdia`);
  const stbl = new BoxReader(buf, requireChild(new BoxReader(buf, minf).children(0), 'stbl', `${where} minf`)).children(0);
  const seconds = duration / timescale;
  const tables = chunksOf(stbl, buf);
  chunks.push(...tables.chunks);
  if (kind !== 'video' && kind !== 'audio') return stream(index, kind, undefined, { duration: seconds });
  const entry = sampleEntry(buf, new BoxReader(buf, requireChild(stbl, 'stsd', `${where} stbl`)), kind);
  return stream(index, kind, entry.codec, {
    duration: seconds,
    ...(kind === 'video' ? { width: entry.width, height: entry.height, frameRate: seconds > 0 ? tables.samples / seconds : undefined } : { sampleRate: entry.sampleRate, channels: entry.channels }),
  });
}

export async function isobmffFacts(readAt: ReadAt, size: number): Promise<ProbeResult> {
  const top = await topLevel(readAt, size);
  if (top.moov.size > MAX_MOOV_BYTES) throw new FactsUnsupported(`a moov of ${top.moov.size} bytes`);
  const buf = Buffer.alloc(top.moov.size);
  if ((await readExactly(readAt, buf, top.moov.at)) !== buf.length) throw new FactsRefusal('the file shrank while it was read');
  const moov = childBoxes(buf, buf.readUInt32BE(0) === 1 ? 16 : 8, buf.length, 'moov');
  const movie = timescaleAndDuration(new BoxReader(buf, requireChild(moov, 'mvhd', 'moov')));
  const chunks: Array<readonly [number, number]> = [];
  const streams = moov.filter((b) => b.type === 'trak').map((trak, i) => trackFacts(buf, trak, i, chunks));
  checkCoverage(chunks, top.mdat);
  const duration = movie.duration > 0 ? movie.duration / movie.timescale : Math.max(0, ...streams.map((s) => s.duration ?? 0));
  return probeOf(FORMAT_NAME, duration, streams);
}
