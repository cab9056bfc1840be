/**
 * The facts of an ISO-BMFF output (mp4, mov, m4a as ffmpeg's mov muxer writes them), read from
 * its `moov` on the host:
 *   - each track's kind (hdlr), codec (its one sample entry; for mp4a/mp4v the esds object
 *     type), picture size (visual sample entry), sample rate and channels (audio sample entry),
 *     duration (mdhd) and average frame rate (samples / duration); the movie's duration (mvhd);
 *   - where every sample lies (stsz, stsc, stco/co64): each chunk must sit inside an mdat, no
 *     two may overlap, and together they must fill the mdat payloads exactly. A byte of media
 *     data that no sample references is data hidden in the file, and is refused.
 * The reader states facts only for the shape ffmpeg's mov muxer writes, and only what a
 * decoder will use: the picture size from the H.264 SPS (not the sample entry's label), the
 * codec from the one sample entry whose every child box is known (an esds inside avc1 would make
 * ffmpeg decode another codec), AAC from its AudioSpecificConfig, durations from the sample
 * timing table (stts), which must agree with mdhd. Any box outside the known tree (cover art in
 * udta, a uuid, a tref), any other video codec, a fragmented file, a second sample description,
 * a compact size table, a subset SPS: the sandboxed ffprobe decides instead (FactsUnsupported).
 * Parameter sets inside the samples are read: the size is the largest any SPS of the stream gives.
 */
import { BoxReader, childBoxes, onlyChild, requireChild, type Box } from './boxes.js';
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import { avcPictureSize, largestInBand } from './h264.js';
import { Source } from '../../inspect/structure/source.js';
import { bytesAt } from './read.js';
import type { ReadAt } from '../../inspect/structure.js';
import type { ProbeResult, ProbeStream } from '../../inspect/probe-result.js';

/** A moov larger than this is not held in memory (a 4-hour 8K movie's is a few MiB). */
export const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 4096;
const FORMAT_NAME = 'mov,mp4,m4a,3gp,3g2,mj2';

const AUDIO_CODECS: Readonly<Record<string, string>> = { Opus: 'opus', fLaC: 'flac', 'ac-3': 'ac3', 'ec-3': 'eac3', alac: 'alac' };
/** ISO/IEC 14496-1 objectTypeIndication → ffmpeg codec, for mp4a sample entries. */
const OBJECT_TYPES: Readonly<Record<number, string>> = { 0x40: 'aac', 0x66: 'aac', 0x67: 'aac', 0x68: 'aac', 0x69: 'mp3', 0x6b: 'mp3' };
/** AAC audio object types an AAC decoder decodes (others, e.g. 32–34, make ffmpeg open mp3on4). */
const AAC_OBJECT_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 29]);

/** The boxes the muxer writes, per parent: anything else is left to the sandboxed probe. */
const KNOWN_CHILDREN: Readonly<Record<string, ReadonlySet<string>>> = {
  moov: new Set(['mvhd', 'trak', 'udta', 'iods']),
  trak: new Set(['tkhd', 'edts', 'mdia']),
  mdia: new Set(['mdhd', 'hdlr', 'minf']),
  minf: new Set(['vmhd', 'smhd', 'hdlr', 'dinf', 'stbl']),
  stbl: new Set(['stsd', 'stts', 'stss', 'ctts', 'stsc', 'stsz', 'stco', 'co64', 'sgpd', 'sbgp', 'sdtp']),
  avc1: new Set(['avcC', 'pasp', 'btrt', 'colr', 'clap', 'fiel']),
  mp4a: new Set(['esds', 'btrt', 'wave', 'chan']),
  wave: new Set(['frma', 'mp4a', 'esds', '\0\0\0\0']),
  Opus: new Set(['dOps', 'btrt']),
  fLaC: new Set(['dfLa', 'btrt']),
  'ac-3': new Set(['dac3', 'btrt']),
  'ec-3': new Set(['dec3', 'btrt']),
  alac: new Set(['alac', 'btrt']),
  udta: new Set(['meta', '\xa9too', '\xa9swr']),
  meta: new Set(['hdlr', 'ilst']),
  ilst: new Set(['\xa9too']),
};
/** udta holds the encoder's name and nothing else; a larger one is not read here. */
const MAX_UDTA_BYTES = 4096;
/** Chunks of all tracks together (an 83-minute movie has ~125k; this is about a day at 25 fps). */
export const MAX_CHUNKS = 2_000_000;

function onlyKnown(boxes: readonly Box[], parent: string): Box[] {
  const known = KNOWN_CHILDREN[parent];
  const odd = boxes.find((b) => !known?.has(b.type));
  if (odd) throw new FactsUnsupported(`a "${showType(odd.type)}" box in "${showType(parent)}"`);
  return [...boxes];
}
const KINDS: Readonly<Record<string, string>> = { vide: 'video', soun: 'audio', text: 'subtitle', sbtl: 'subtitle', subt: 'subtitle', clcp: 'subtitle' };

interface TopLevel {
  readonly moov: { readonly at: number; readonly size: number };
  /** [start, end) of each mdat's payload. */
  readonly mdat: ReadonlyArray<readonly [number, number]>;
}

/** Top-level boxes a muxer writes as reserved space: nothing may be hidden in them. */
const PADDING: ReadonlySet<string> = new Set(['free', 'skip', 'wide']);
const MAX_PADDING_BYTES = 1024 * 1024;

const showType = (t: string): string => t.replace(/[^\x20-\x7e\xa9]/g, '?');

async function checkPadding(readAt: ReadAt, type: string, from: number, to: number): Promise<void> {
  if (to - from > MAX_PADDING_BYTES) throw new FactsRefusal(`a "${type}" box of ${to - from} bytes`);
  if (to === from) return;
  if ((await bytesAt(readAt, from, to - from, `a "${type}" box`)).some((b) => b !== 0)) {
    throw new FactsRefusal(`the "${type}" box at byte ${from} holds data (padding must be zeros)`);
  }
}

async function topLevel(readAt: ReadAt, size: number): Promise<TopLevel> {
  let moov: TopLevel['moov'] | undefined;
  const mdat: Array<readonly [number, number]> = [];
  let pos = 0;
  for (let n = 0; pos < size; n++) {
    if (n >= MAX_TOP_LEVEL_BOXES) throw new FactsUnsupported(`more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
    if (size - pos < 8) throw new FactsRefusal(`${size - pos} stray bytes at the end of the file`);
    const head = await bytesAt(readAt, pos, Math.min(16, size - pos), 'a box header');
    const got = head.length;
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
  readonly audioObjectType?: number;
  readonly channels?: number;
  readonly sampleRate?: number;
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** AudioSpecificConfig (ISO/IEC 14496-3): object type (5 bits, 31 = escape), rate index (4, 15 = explicit 24-bit rate), channel configuration (4). */
function audioSpecificConfig(r: BoxReader, off: number): { audioObjectType: number; channels?: number; sampleRate?: number } {
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
  let audioObjectType = take(5);
  if (audioObjectType === 31) audioObjectType = 32 + take(6);
  const rateIndex = take(4);
  const sampleRate = rateIndex === 15 ? take(24) : AAC_RATES[rateIndex];
  const config = take(4);
  // Configuration 7 is eight channels (7.1); 0 means "in the program config element".
  const channels = config === 7 ? 8 : config >= 1 && config <= 6 ? config : undefined;
  return { audioObjectType, ...(sampleRate !== undefined ? { sampleRate } : {}), ...(channels !== undefined ? { channels } : {}) };
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

/** The boxes inside a sample entry, from `off` (after the fields of its kind), each one known. */
function entryChildren(buf: Buffer, entry: Box, off: number): Box[] {
  const kids = entry.body + off <= entry.end ? childBoxes(buf, entry.body + off, entry.end, `sample entry "${entry.type}"`) : [];
  return onlyKnown(kids, entry.type);
}

/** The esds of an mp4a entry: a child, or (QuickTime) inside its "wave" child, whose frma must not rename the codec. */
function esdsOf(buf: Buffer, entry: Box, kids: readonly Box[]): Esds {
  const where = `sample entry "${entry.type}"`;
  const wave = onlyChild(kids, 'wave', where);
  let esds = onlyChild(kids, 'esds', where);
  if (wave) {
    const inner = onlyKnown(new BoxReader(buf, wave).children(0), 'wave');
    const frma = onlyChild(inner, 'frma', `${where} wave`);
    if (frma && new BoxReader(buf, frma).fourcc(0) !== entry.type) throw new FactsUnsupported('a wave/frma box that names another codec');
    const innerEsds = onlyChild(inner, 'esds', `${where} wave`);
    if (esds && innerEsds) throw new FactsUnsupported('two esds boxes in one sample entry');
    esds ??= innerEsds;
  }
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
  /** H.264: the NAL length size, to look into the first samples. */
  readonly nalLengthSize?: number;
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
    // Only H.264 in avc1 is read: its size comes from the SPS, which is what a decoder uses (the
    // sample entry's width and height are a label). Other video codecs go to the sandboxed probe.
    if (fourcc !== 'avc1') throw new FactsUnsupported(`video sample entry "${showType(fourcc)}"`);
    const avcC = onlyChild(entryChildren(buf, entry, 78), 'avcC', 'sample entry "avc1"');
    if (!avcC) throw new FactsUnsupported('an avc1 sample entry without avcC');
    const size = avcPictureSize(buf.subarray(avcC.body, avcC.end));
    return { codec: 'h264', width: size.width, height: size.height, nalLengthSize: size.nalLengthSize };
  }
  if (kind === 'audio') {
    // SampleEntry (8) + AudioSampleEntry: version, revision, vendor (8), channels, sample size,
    // compression id, packet size, rate 16.16 (12); QuickTime versions 1 and 2 add 16 and 36 bytes.
    if (fourcc !== 'mp4a' && !AUDIO_CODECS[fourcc]) throw new FactsUnsupported(`audio sample entry "${showType(fourcc)}"`);
    const version = r.u16(8);
    if (version > 2) throw new FactsRefusal(`audio sample entry "${fourcc}" of version ${version}`);
    const kids = entryChildren(buf, entry, 28 + (version === 1 ? 16 : version === 2 ? 36 : 0));
    const channels = version === 2 ? r.u32(40) : r.u16(16);
    const sampleRate = version === 2 ? r.buffer.readDoubleBE(r.table(32, 1, 8)) : r.u32(24) >>> 16;
    if (!Number.isFinite(sampleRate) || sampleRate < 0) throw new FactsRefusal(`audio sample entry "${fourcc}" declares a sample rate of ${sampleRate}`);
    if (fourcc === 'mp4a') {
      // The sample entry's channel count and rate are placeholders for AAC (ffmpeg writes 2); its AudioSpecificConfig is what decoders use.
      const e = esdsOf(buf, entry, kids);
      const codec = OBJECT_TYPES[e.objectType] as string;
      if (codec === 'aac' && (e.audioObjectType === undefined || !AAC_OBJECT_TYPES.has(e.audioObjectType))) throw new FactsUnsupported(`AAC audio object type ${e.audioObjectType ?? 'unknown'}`);
      return { codec, sampleRate: e.sampleRate ?? sampleRate, channels: e.channels ?? channels };
    }
    return { codec: AUDIO_CODECS[fourcc] as string, sampleRate, channels };
  }
  throw new FactsUnsupported(`a track of handler "${showType(kind)}"`);
}

/** Every chunk of every track: parallel arrays of offsets and lengths (no per-chunk objects). */
interface Chunks {
  readonly offsets: number[];
  readonly lengths: number[];
}

/** Where each sample of a track lies: parallel arrays, in file order. */
interface SampleRanges {
  readonly offsets: number[];
  readonly sizes: number[];
}

/** The chunks of one track into `out`, from its sample tables; its sample count, and every sample's range when `collect`. */
function chunksOf(stbl: Box[], buf: Buffer, out: Chunks, collect: boolean): { samples: number; ranges: SampleRanges } {
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
  if (out.offsets.length + chunkCount > MAX_CHUNKS) throw new FactsUnsupported(`more than ${MAX_CHUNKS} chunks`);

  if (collect && samples > MAX_CHUNKS) throw new FactsUnsupported(`a video track of ${samples} samples`);
  const ranges: SampleRanges = { offsets: [], sizes: [] };
  let sample = 0;
  for (let run = 0; run < runs; run++) {
    const firstChunk = buf.readUInt32BE(runsAt + run * 12);
    const perChunk = buf.readUInt32BE(runsAt + run * 12 + 4);
    const next = run + 1 < runs ? buf.readUInt32BE(runsAt + (run + 1) * 12) : chunkCount + 1;
    if (firstChunk < 1 || next <= firstChunk || next > chunkCount + 1) throw new FactsRefusal(`stsc run ${run + 1} names chunks ${firstChunk} to ${next - 1} of ${chunkCount}`);
    for (let c = firstChunk; c < next; c++) {
      if (sample + perChunk > samples) throw new FactsRefusal(`the chunks hold more samples than stsz's ${samples}`);
      const offset = wide ? Number(buf.readBigUInt64BE(offsetsAt + (c - 1) * 8)) : buf.readUInt32BE(offsetsAt + (c - 1) * 4);
      let length = fixed * perChunk;
      let at = offset;
      for (let i = 0; i < perChunk; i++) {
        const size = fixed === 0 ? buf.readUInt32BE(sizesAt + (sample + i) * 4) : fixed;
        if (collect) {
          ranges.offsets.push(at);
          ranges.sizes.push(size);
        }
        at += size;
        if (fixed === 0) length += size;
      }
      sample += perChunk;
      out.offsets.push(offset);
      out.lengths.push(length);
    }
  }
  if (sample !== samples) throw new FactsRefusal(`the chunks hold ${sample} samples but stsz declares ${samples}`);
  return { samples, ranges };
}

/** The track's duration in its timescale from stts (sample count × delta per run), with its sample count. */
function timedSamples(stbl: Box[], buf: Buffer): { samples: number; duration: number } {
  const stts = new BoxReader(buf, requireChild(stbl, 'stts', 'stbl'));
  const runs = stts.u32(4);
  const at = stts.table(8, runs, 8);
  let samples = 0;
  let duration = 0;
  for (let i = 0; i < runs; i++) {
    const n = buf.readUInt32BE(at + i * 8);
    samples += n;
    duration += n * buf.readUInt32BE(at + i * 8 + 4);
  }
  return { samples, duration };
}

/** Every chunk inside an mdat, none overlapping, together filling every mdat payload exactly. */
function checkCoverage(chunks: Chunks, mdat: TopLevel['mdat']): void {
  const order = Array.from(chunks.offsets.keys()).filter((i) => (chunks.lengths[i] ?? 0) > 0);
  order.sort((a, b) => (chunks.offsets[a] ?? 0) - (chunks.offsets[b] ?? 0));
  let payload = 0;
  for (const [s, e] of mdat) payload += e - s;
  let covered = 0;
  let last = -1;
  for (const i of order) {
    const off = chunks.offsets[i] ?? 0;
    const len = chunks.lengths[i] ?? 0;
    if (off < last) throw new FactsRefusal(`two chunks overlap at byte ${off}`);
    if (!mdat.some(([s, e]) => off >= s && off + len <= e)) throw new FactsRefusal(`a chunk of ${len} bytes at byte ${off} lies outside every mdat`);
    covered += len;
    last = off + len;
  }
  if (covered !== payload) {
    throw new FactsRefusal(`${payload - covered} of the ${payload} bytes of media data (mdat) belong to no sample: data hidden in the file`);
  }
}

interface Track {
  readonly stream: ProbeStream;
  /** H.264 tracks: every sample, to be checked for in-band parameter sets. */
  readonly samples?: { readonly ranges: SampleRanges; readonly nalLengthSize: number };
}

function trackFacts(buf: Buffer, trak: Box, index: number, chunks: Chunks): Track {
  const where = `trak ${index + 1}`;
  const mdia = requireChild(onlyKnown(new BoxReader(buf, trak).children(0), 'trak'), 'mdia', where);
  const mdiaKids = onlyKnown(new BoxReader(buf, mdia).children(0), 'mdia');
  const handler = new BoxReader(buf, requireChild(mdiaKids, 'hdlr', `${where} mdia`)).fourcc(8);
  const kind = KINDS[handler] ?? 'data';
  if (kind !== 'video' && kind !== 'audio') throw new FactsUnsupported(`a track of handler "${showType(handler)}"`);
  const { timescale, duration } = timescaleAndDuration(new BoxReader(buf, requireChild(mdiaKids, 'mdhd', `${where} mdia`)));
  const minf = requireChild(mdiaKids, 'minf', `${where} mdia`);
  const stbl = onlyKnown(new BoxReader(buf, requireChild(onlyKnown(new BoxReader(buf, minf).children(0), 'minf'), 'stbl', `${where} minf`)).children(0), 'stbl');
  const tables = chunksOf(stbl, buf, chunks, kind === 'video');
  const timed = timedSamples(stbl, buf);
  // The sample timing table is what players follow; mdhd only summarises it.
  if (timed.samples !== tables.samples) throw new FactsRefusal(`stts times ${timed.samples} samples but stsz holds ${tables.samples}`);
  if (timed.duration !== duration) throw new FactsUnsupported(`mdhd says ${duration} but the samples last ${timed.duration} (timescale ${timescale})`);
  const seconds = timed.duration / timescale;
  const entry = sampleEntry(buf, new BoxReader(buf, requireChild(stbl, 'stsd', `${where} stbl`)), kind);
  if (kind === 'video') {
    if (!(seconds > 0)) throw new FactsUnsupported('a video track whose samples last no time');
    return {
      stream: stream(index, kind, entry.codec, { duration: seconds, width: entry.width, height: entry.height, frameRate: tables.samples / seconds }),
      ...(entry.nalLengthSize !== undefined ? { samples: { ranges: tables.ranges, nalLengthSize: entry.nalLengthSize } } : {}),
    };
  }
  return { stream: stream(index, kind, entry.codec, { duration: seconds, sampleRate: entry.sampleRate, channels: entry.channels }) };
}

/** udta: the encoder's name only (ffmpeg writes it even with metadata stripped), small. */
function checkUdta(buf: Buffer, udta: Box): void {
  if (udta.end - udta.at > MAX_UDTA_BYTES) throw new FactsUnsupported(`a udta of ${udta.end - udta.at} bytes`);
  try {
    for (const b of onlyKnown(new BoxReader(buf, udta).children(0), 'udta')) {
      if (b.type !== 'meta') continue;
      const r = new BoxReader(buf, b);
      for (const m of onlyKnown(r.children(4), 'meta')) if (m.type === 'ilst') onlyKnown(new BoxReader(buf, m).children(0), 'ilst');
    }
  } catch (e) {
    // User data in another layout than ffmpeg's (QuickTime's meta without version and flags): not read here.
    if (e instanceof FactsRefusal) throw new FactsUnsupported(`user data the reader does not read (${e.message})`);
    throw e;
  }
}

export async function isobmffFacts(readAt: ReadAt, size: number): Promise<ProbeResult> {
  const top = await topLevel(readAt, size);
  if (top.moov.size > MAX_MOOV_BYTES) throw new FactsUnsupported(`a moov of ${top.moov.size} bytes`);
  const buf = await bytesAt(readAt, top.moov.at, top.moov.size, 'the moov box');
  const moov = onlyKnown(childBoxes(buf, buf.readUInt32BE(0) === 1 ? 16 : 8, buf.length, 'moov'), 'moov');
  const movie = timescaleAndDuration(new BoxReader(buf, requireChild(moov, 'mvhd', 'moov')));
  const udta = onlyChild(moov, 'udta', 'moov');
  if (udta) checkUdta(buf, udta);
  const chunks: Chunks = { offsets: [], lengths: [] };
  const tracks = moov.filter((b) => b.type === 'trak').map((trak, i) => trackFacts(buf, trak, i, chunks));
  checkCoverage(chunks, top.mdat);
  const source = new Source(readAt, size);
  const streams: ProbeStream[] = [];
  for (const t of tracks) {
    if (!t.samples) {
      streams.push(t.stream);
      continue;
    }
    const { offsets, sizes } = t.samples.ranges;
    const reached = { width: t.stream.width ?? 0, height: t.stream.height ?? 0 };
    await largestInBand(source, (function* () {
      for (let i = 0; i < offsets.length; i++) yield [offsets[i] ?? 0, sizes[i] ?? 0] as const;
    })(), t.samples.nalLengthSize, reached);
    streams.push({ ...t.stream, width: reached.width, height: reached.height });
  }
  // The longest of mvhd and the tracks' own timing: an mvhd shorter than its samples would hide
  // how long the output plays from the duration budget.
  const duration = Math.max(movie.duration / movie.timescale, ...streams.map((s) => s.duration ?? 0));
  return probeOf(FORMAT_NAME, duration, streams);
}
