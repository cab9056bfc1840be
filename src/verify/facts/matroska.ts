/**
 * The facts of a Matroska or WebM output, from its EBML header (DocType), the Segment's Info
 * (TimestampScale, Duration) and Tracks (per TrackEntry: type, CodecID, DefaultDuration, sample
 * rate, channels; for H.264 the picture size of the SPS in CodecPrivate, which is what decodes,
 * not PixelWidth/PixelHeight). The structure walk has already proved the Clusters tile the
 * Segment; every block of an H.264 track is read for in-band parameter sets (the size is the
 * largest any of its SPS gives). What this
 * does not read goes to the sandboxed probe (FactsUnsupported): a Segment of unknown size, no
 * Duration or DefaultDuration, Attachments or Chapters (streams and metadata ffprobe would
 * show), encoded (compressed or encrypted) tracks, any video codec but H.264.
 */
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import { avcPictureSize, largestInBand } from './h264.js';
import { Source } from '../../inspect/structure/source.js';
import { bytesAt } from './read.js';
import type { ReadAt } from '../../inspect/structure.js';
import type { ProbeResult, ProbeStream } from '../../inspect/probe-result.js';

const ID = {
  EBML: 0x1a45dfa3, DOC_TYPE: 0x4282, SEGMENT: 0x18538067, INFO: 0x1549a966, TIMESTAMP_SCALE: 0x2ad7b1, DURATION: 0x4489,
  TRACKS: 0x1654ae6b, TRACK_ENTRY: 0xae, TRACK_TYPE: 0x83, CODEC_ID: 0x86, DEFAULT_DURATION: 0x23e383,
  VIDEO: 0xe0, PIXEL_WIDTH: 0xb0, PIXEL_HEIGHT: 0xba, AUDIO: 0xe1, SAMPLING_FREQUENCY: 0xb5, CHANNELS: 0x9f,
  SEEK_HEAD: 0x114d9b74, SEEK: 0x4dbb, SEEK_ID: 0x53ab, SEEK_POSITION: 0x53ac, VOID: 0xec,
  TRACK_NUMBER: 0xd7, CODEC_PRIVATE: 0x63a2, CONTENT_ENCODINGS: 0x6d80, CLUSTER: 0x1f43b675, SIMPLE_BLOCK: 0xa3, BLOCK_GROUP: 0xa0, BLOCK: 0xa1,
} as const;

/** Segment children a muxer writes whose content is no stream: SeekHead, Info, Tracks, Cluster, Cues, Tags, Void, CRC-32. */
const KNOWN_SEGMENT_CHILDREN: ReadonlySet<number> = new Set([0x114d9b74, 0x1549a966, 0x1654ae6b, 0x1f43b675, 0x1c53bb6b, 0x1254c367, 0xec, 0xbf]);
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** Void elements (reserved space) are read to prove they hold only zeros; a larger one is not read here. */
const MAX_VOID_BYTES = 1024 * 1024;
const MAX_SEEK_HEAD_BYTES = 64 * 1024;
const CLUSTER_TIMESTAMP = 0xe7;

/** Info and Tracks are read into memory; a muxer's are a few hundred bytes. */
const MAX_HEADER_ELEMENT_BYTES = 1024 * 1024;
const MAX_SEGMENT_CHILDREN = 1_000_000;

const CODECS: Readonly<Record<string, string>> = {
  'V_MPEG4/ISO/AVC': 'h264',
  A_OPUS: 'opus', A_VORBIS: 'vorbis', A_AAC: 'aac', A_FLAC: 'flac', 'A_MPEG/L3': 'mp3', A_AC3: 'ac3', A_EAC3: 'eac3',
};
const KINDS: Readonly<Record<number, string>> = { 1: 'video', 2: 'audio', 17: 'subtitle' };

interface Element {
  readonly id: number;
  readonly data: number;
  /** Undefined: unknown size. */
  readonly size: number | undefined;
}

/** The element header at `pos` of `buf` (the buffer's own offsets). */
function header(buf: Buffer, pos: number, where: string): Element {
  const first = buf[pos];
  if (first === undefined || first < 0x10) throw new FactsRefusal(`no element header at byte ${pos} of ${where}`);
  const idLen = first >= 0x80 ? 1 : first >= 0x40 ? 2 : first >= 0x20 ? 3 : 4;
  const sf = buf[pos + idLen];
  if (sf === undefined || sf === 0) throw new FactsRefusal(`an element size at byte ${pos + idLen} of ${where} that cannot be read`);
  let sizeLen = 1;
  while ((sf & (0x80 >> (sizeLen - 1))) === 0) sizeLen++;
  if (pos + idLen + sizeLen > buf.length) throw new FactsRefusal(`an element header cut at byte ${pos} of ${where}`);
  let id = 0;
  for (let i = 0; i < idLen; i++) id = id * 256 + (buf[pos + i] ?? 0);
  const mask = 0xff >> sizeLen;
  let size = sf & mask;
  let ones = size === mask;
  for (let i = 1; i < sizeLen; i++) {
    const x = buf[pos + idLen + i] ?? 0;
    size = size * 256 + x;
    if (x !== 0xff) ones = false;
  }
  return { id, data: pos + idLen + sizeLen, size: ones ? undefined : size };
}

/** The children of buf[from, to), each of known size inside it. */
function children(buf: Buffer, from: number, to: number, where: string): Element[] {
  const out: Element[] = [];
  let pos = from;
  while (pos < to) {
    const e = header(buf, pos, where);
    if (e.size === undefined || e.data + e.size > to) throw new FactsRefusal(`an element at byte ${pos} of ${where} does not fit it`);
    out.push(e);
    pos = e.data + e.size;
  }
  return out;
}

function uint(buf: Buffer, e: Element): number {
  const n = e.size ?? 0;
  if (n < 1 || n > 6) throw new FactsRefusal(`an unsigned integer of ${n} bytes`);
  return buf.readUIntBE(e.data, n);
}

/** A non-negative finite float (a duration, a sample rate): NaN and infinities are refused. */
function float(buf: Buffer, e: Element): number {
  const v = e.size === 4 ? buf.readFloatBE(e.data) : e.size === 8 ? buf.readDoubleBE(e.data) : undefined;
  if (v === undefined) throw new FactsRefusal(`a float of ${e.size ?? 'unknown'} bytes`);
  if (!Number.isFinite(v) || v < 0) throw new FactsRefusal(`a float field of ${v}`);
  return v;
}

const one = (els: readonly Element[], id: number, where: string): Element | undefined => {
  const found = els.filter((e) => e.id === id);
  if (found.length > 1) throw new FactsRefusal(`${where} holds ${found.length} elements 0x${id.toString(16)} where one is allowed`);
  return found[0];
};


interface Track {
  readonly stream: ProbeStream;
  readonly number: number;
  /** H.264: the NAL length size, to look into its first blocks. */
  readonly nalLengthSize?: number;
}

function trackFacts(buf: Buffer, entry: Element, index: number): Track {
  const where = `TrackEntry ${index + 1}`;
  const kids = children(buf, entry.data, entry.data + (entry.size ?? 0), where);
  if (one(kids, ID.CONTENT_ENCODINGS, where)) throw new FactsUnsupported('an encoded (compressed or encrypted) track');
  const type = one(kids, ID.TRACK_TYPE, where);
  const kind = type ? (KINDS[uint(buf, type)] ?? 'data') : 'data';
  const numberEl = one(kids, ID.TRACK_NUMBER, where);
  const number = numberEl ? uint(buf, numberEl) : 0;
  const codecEl = one(kids, ID.CODEC_ID, where);
  const codecId = codecEl ? buf.toString('latin1', codecEl.data, codecEl.data + (codecEl.size ?? 0)).replace(/\0+$/, '') : '';
  if (kind !== 'video' && kind !== 'audio') throw new FactsUnsupported(`a track of type ${kind}`);
  const codec = CODECS[codecId] ?? (codecId.startsWith('A_AAC/') ? 'aac' : undefined);
  if (!codec) throw new FactsUnsupported(`CodecID "${codecId.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}"`);
  if (kind === 'video') {
    if (codec !== 'h264') throw new FactsUnsupported(`video codec ${codec}`);
    const priv = one(kids, ID.CODEC_PRIVATE, where);
    if (!priv) throw new FactsUnsupported('an H.264 track without CodecPrivate');
    const size = avcPictureSize(buf.subarray(priv.data, priv.data + (priv.size ?? 0)));
    const dd = one(kids, ID.DEFAULT_DURATION, where);
    if (!dd || uint(buf, dd) === 0) throw new FactsUnsupported('a video track without DefaultDuration');
    return { number, nalLengthSize: size.nalLengthSize, stream: stream(index, kind, codec, { width: size.width, height: size.height, frameRate: 1e9 / uint(buf, dd) }) };
  }
  const a = one(kids, ID.AUDIO, where);
  const ak = a ? children(buf, a.data, a.data + (a.size ?? 0), `${where} Audio`) : [];
  const sf = one(ak, ID.SAMPLING_FREQUENCY, `${where} Audio`);
  const ch = one(ak, ID.CHANNELS, `${where} Audio`);
  return { number, stream: stream(index, kind, codec, { sampleRate: sf ? float(buf, sf) : 8000, channels: ch ? uint(buf, ch) : 1 }) };
}

/** The header of a (Simple)Block's data: the track number (a vint), then timestamp and flags; its length, or undefined when laced. */
function blockHeader(b: Buffer): { track: number; length: number } | undefined {
  const first = b[0] ?? 0;
  if (first === 0) return undefined;
  let len = 1;
  while ((first & (0x80 >> (len - 1))) === 0) len++;
  if (len > 4 || b.length < len + 3) return undefined;
  let track = first & (0xff >> len);
  for (let i = 1; i < len; i++) track = track * 256 + (b[i] ?? 0);
  const flags = b[len + 2] ?? 0;
  if (flags & 0x06) return undefined; // lacing
  return { track, length: len + 3 };
}

/** Every block of `track` in every Cluster, for the largest picture size any SPS it carries gives (a decoder switches to them). */
async function largestInBlocks(s: Source, readAt: ReadAt, clusters: ReadonlyArray<{ readonly at: number; readonly end: number }>, track: Track, reached: { width: number; height: number }): Promise<void> {
  const ranges: Array<readonly [number, number]> = [];
  const flush = async (): Promise<void> => {
    await largestInBand(s, ranges, track.nalLengthSize ?? 4, reached);
    ranges.length = 0;
  };
  for (const c of clusters) {
    let pos = c.at;
    for (let n = 0; pos < c.end; n++) {
      if (n > 1_000_000) throw new FactsUnsupported('more than a million elements in a Cluster');
      const e = header(await s.bytes(pos, Math.min(12, c.end - pos)), 0, 'a Cluster');
      if (e.size === undefined) throw new FactsUnsupported('an element of unknown size in a Cluster');
      let dataAt = pos + e.data;
      let dataEnd = dataAt + e.size;
      if (dataEnd > c.end) throw new FactsRefusal(`an element at byte ${pos} runs past its Cluster`);
      if (e.id === ID.BLOCK_GROUP) {
        if (e.size > MAX_BLOCK_BYTES) throw new FactsUnsupported(`a block group of ${e.size} bytes`);
        const group = await bytesAt(readAt, dataAt, e.size);
        const block = children(group, 0, group.length, 'a BlockGroup').find((x) => x.id === ID.BLOCK);
        if (!block) throw new FactsUnsupported('a BlockGroup without a Block');
        dataAt += block.data;
        dataEnd = dataAt + (block.size ?? 0);
      }
      if (e.id === ID.SIMPLE_BLOCK || e.id === ID.BLOCK_GROUP) {
        const h = blockHeader(await s.bytes(dataAt, Math.min(8, dataEnd - dataAt)));
        if (!h) throw new FactsUnsupported('a laced or malformed block');
        if (h.track === track.number) ranges.push([dataAt + h.length, dataEnd - dataAt - h.length]);
        if (ranges.length >= 4096) await flush();
      }
      pos = pos + e.data + e.size;
    }
  }
  await flush();
}

export async function matroskaFacts(readAt: ReadAt, size: number): Promise<ProbeResult> {
  const head = await bytesAt(readAt, 0, Math.min(size, 64));
  const ebml = header(head, 0, 'the EBML header');
  if (ebml.id !== ID.EBML || ebml.size === undefined || ebml.data + ebml.size > head.length) throw new FactsUnsupported('an EBML header this reader does not read');
  const docType = one(children(head, ebml.data, ebml.data + ebml.size, 'the EBML header'), ID.DOC_TYPE, 'the EBML header');
  const doc = docType ? head.toString('latin1', docType.data, docType.data + (docType.size ?? 0)) : 'matroska';
  if (doc !== 'matroska' && doc !== 'webm') throw new FactsRefusal(`DocType "${doc.slice(0, 20)}"`);

  const segAt = ebml.data + ebml.size;
  const segHead = await bytesAt(readAt, segAt, Math.min(12, size - segAt));
  const seg = header(segHead, 0, 'the Segment');
  if (seg.id !== ID.SEGMENT) throw new FactsRefusal('the EBML header is not followed by a Segment');
  if (seg.size === undefined) throw new FactsUnsupported('a Segment of unknown size (a live recording)');
  let pos = segAt + seg.data;
  const end = pos + seg.size;
  if (end > size) throw new FactsRefusal('the Segment runs past the end of the file');

  let info: Buffer | undefined;
  let tracks: Buffer | undefined;
  const clusters: Array<{ at: number; end: number }> = [];
  const segmentData = pos;
  let lastClusterStart = 0;
  /** Offset (from the Segment's data) → id of every top-level element walked: what a SeekHead may point at. */
  const walked = new Map<number, number>();
  const seekHeads: Buffer[] = [];
  for (let n = 0; pos < end; n++) {
    if (n >= MAX_SEGMENT_CHILDREN) throw new FactsUnsupported(`more than ${MAX_SEGMENT_CHILDREN} elements in the Segment`);
    const hb = await bytesAt(readAt, pos, Math.min(12, end - pos));
    const e = header(hb, 0, 'the Segment');
    if (e.size === undefined) throw new FactsUnsupported('an element of unknown size in the Segment');
    const dataAt = pos + e.data;
    if (dataAt + e.size > end) throw new FactsRefusal(`an element at byte ${pos} runs past the Segment`);
    if (!KNOWN_SEGMENT_CHILDREN.has(e.id)) throw new FactsUnsupported(`Segment element 0x${e.id.toString(16)} (Attachments, Chapters or another this reader does not read)`);
    if (e.id === ID.CLUSTER) {
      clusters.push({ at: dataAt, end: dataAt + e.size });
      // Its Timestamp, the first child ffmpeg writes: how far into the media the Cluster starts.
      let at = dataAt;
      let t = header(await bytesAt(readAt, at, Math.min(12, dataAt + e.size - at)), 0, 'a Cluster');
      while ((t.id === 0xbf || t.id === ID.VOID) && t.size !== undefined && at + t.data + t.size < dataAt + e.size) {
        at += t.data + t.size; // a CRC-32 (ffmpeg writes one first) or a Void
        t = header(await bytesAt(readAt, at, Math.min(12, dataAt + e.size - at)), 0, 'a Cluster');
      }
      if (t.id !== CLUSTER_TIMESTAMP || t.size === undefined || t.size < 1 || t.size > 6) throw new FactsUnsupported('a Cluster that does not start with its Timestamp');
      lastClusterStart = Math.max(lastClusterStart, (await bytesAt(readAt, at + t.data, t.size)).readUIntBE(0, t.size));
    }
    walked.set(pos - segmentData, e.id);
    if (e.id === ID.VOID) {
      // ffmpeg reserves space with zeros: anything else in a Void is bytes a SeekHead or Cues entry could point at.
      if (e.size > MAX_VOID_BYTES) throw new FactsUnsupported(`a Void element of ${e.size} bytes`);
      if ((await bytesAt(readAt, dataAt, e.size)).some((b) => b !== 0)) throw new FactsUnsupported('a Void element that holds data');
    }
    if (e.id === ID.SEEK_HEAD) {
      if (e.size > MAX_SEEK_HEAD_BYTES) throw new FactsUnsupported(`a SeekHead of ${e.size} bytes`);
      seekHeads.push(await bytesAt(readAt, dataAt, e.size));
    }
    if (e.id === ID.INFO || e.id === ID.TRACKS) {
      if (e.size > MAX_HEADER_ELEMENT_BYTES) throw new FactsUnsupported(`an ${e.id === ID.INFO ? 'Info' : 'Tracks'} element of ${e.size} bytes`);
      if ((e.id === ID.INFO ? info : tracks) !== undefined) throw new FactsRefusal('two Info or two Tracks elements');
      const body = await bytesAt(readAt, dataAt, e.size);
      if (e.id === ID.INFO) info = body;
      else tracks = body;
    }
    pos = dataAt + e.size;
  }
  if (!info || !tracks) throw new FactsRefusal(`the Segment has no ${info ? 'Tracks' : 'Info'}`);
  // ffmpeg follows every Seek entry to its offset: each must name an element this walk read, there.
  for (const sh of seekHeads) {
    for (const seek of children(sh, 0, sh.length, 'a SeekHead')) {
      if (seek.id !== ID.SEEK) {
        if (seek.id === ID.VOID || seek.id === 0xbf) continue;
        throw new FactsUnsupported(`a SeekHead child 0x${seek.id.toString(16)}`);
      }
      const kids = children(sh, seek.data, seek.data + (seek.size ?? 0), 'a Seek');
      const idEl = one(kids, ID.SEEK_ID, 'a Seek');
      const posEl = one(kids, ID.SEEK_POSITION, 'a Seek');
      if (!idEl || !posEl) throw new FactsUnsupported('a Seek without its id or position');
      const posLen = posEl.size ?? 0;
      if (posLen < 1 || posLen > 8) throw new FactsUnsupported('a Seek position of odd length');
      let position = 0;
      for (let i = 0; i < posLen; i++) position = position * 256 + (sh[posEl.data + i] ?? 0);
      const target = walked.get(position);
      const idLen = idEl.size ?? 0;
      if (idLen < 1 || idLen > 4) throw new FactsUnsupported('a Seek id of odd length');
      const id = sh.readUIntBE(idEl.data, idLen);
      if (target !== id) throw new FactsUnsupported(`a Seek entry for 0x${id.toString(16)} that points where no such top-level element was walked`);
    }
  }
  const ik = children(info, 0, info.length, 'Info');
  const scale = one(ik, ID.TIMESTAMP_SCALE, 'Info');
  const dur = one(ik, ID.DURATION, 'Info');
  if (!dur) throw new FactsUnsupported('an Info without Duration');
  const duration = (float(info, dur) * (scale ? uint(info, scale) : 1_000_000)) / 1e9;
  if (!Number.isFinite(duration) || duration < 0) throw new FactsRefusal(`a Duration of ${duration}`);
  // A Duration shorter than where the last Cluster starts would hide from the duration budget how long the output plays.
  const lastStart = (lastClusterStart * (scale ? uint(info, scale) : 1_000_000)) / 1e9;
  if (lastStart > duration + 1) throw new FactsRefusal(`Info says the output lasts ${duration} s but a Cluster starts at ${lastStart} s`);
  const entries = children(tracks, 0, tracks.length, 'Tracks').filter((e) => e.id === ID.TRACK_ENTRY);
  const parsed = entries.map((e, i) => trackFacts(tracks as Buffer, e, i));
  const streams: ProbeStream[] = [];
  for (const t of parsed) {
    if (t.nalLengthSize === undefined) {
      streams.push(t.stream);
      continue;
    }
    if (t.number === 0) throw new FactsUnsupported('a video track without a TrackNumber');
    const reached = { width: t.stream.width ?? 0, height: t.stream.height ?? 0 };
    await largestInBlocks(new Source(readAt, size), readAt, clusters, t, reached);
    streams.push({ ...t.stream, width: reached.width, height: reached.height });
  }
  return probeOf('matroska,webm', duration, streams);
}
