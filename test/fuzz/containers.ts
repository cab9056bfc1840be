/**
 * Containers as element trees, and their serializers: the unit tests build their samples with
 * these, and the fuzzer mutates the trees (structure-aware: drop, duplicate, swap, nest, lie
 * about a size) before serializing. A serializer also returns the offsets where a cut leaves a
 * well-formed shorter file (top-level boundaries, and the child boundaries of unknown-size
 * EBML elements): a cut anywhere else is inside an element and must be reported.
 */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../helpers/hostile-samples.js';
import { flacCrc16, flacCrc8 } from '../../src/inspect/structure/flac.js';

/** How a size field is written. */
export type SizeMode = 'exact' | 'zero' | 'unknown' | 'wide' | { readonly delta: number };

export interface El {
  /** fourcc (box, chunk, PNG), EBML id, JPEG marker code, or a kind ('raw', 'frame', 'page', 'ecs'). */
  readonly id: string | number;
  readonly body: Buffer | readonly El[];
  /** Bytes between the header and the body (RIFF form/list type, full-box fields, page fields, frame header). */
  readonly meta?: Buffer;
  readonly size?: SizeMode;
}

export interface Serialized {
  readonly bytes: Buffer;
  /** Offsets where a cut leaves a well-formed (shorter) file. */
  readonly boundaries: ReadonlySet<number>;
}

export type FormatName = 'isobmff' | 'ebml' | 'riff-wave' | 'riff-avi' | 'ogg' | 'png' | 'jpeg' | 'mp3' | 'flac';

const delta = (m: SizeMode | undefined): number => (typeof m === 'object' ? m.delta : 0);
const u32be = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
const u32le = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };

function bodyOf(el: El, child: (e: El) => Buffer): Buffer {
  return Buffer.isBuffer(el.body) ? el.body : Buffer.concat((el.body as readonly El[]).map(child));
}

// --- ISO-BMFF -------------------------------------------------------------------------------

export function isoBox(el: El): Buffer {
  const body = Buffer.concat([el.meta ?? Buffer.alloc(0), bodyOf(el, isoBox)]);
  const type = Buffer.from(String(el.id).padEnd(4).slice(0, 4), 'latin1');
  if (el.size === 'wide') {
    const large = Buffer.alloc(8);
    large.writeBigUInt64BE(BigInt(16 + body.length + delta(el.size)));
    return Buffer.concat([u32be(1), type, large, body]);
  }
  const size = el.size === 'zero' ? 0 : Math.max(0, 8 + body.length + delta(el.size));
  return Buffer.concat([u32be(size), type, body]);
}

// --- EBML -----------------------------------------------------------------------------------

function ebmlId(id: number): Buffer {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes.length > 0 ? bytes : [0x80]);
}

export function ebmlSize(n: number, mode: SizeMode | undefined): Buffer {
  if (mode === 'unknown') return Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const v = Math.max(0, n + delta(mode));
  let len = mode === 'wide' ? 8 : 1;
  while (len < 8 && v >= 2 ** (7 * len) - 1) len++;
  const out = Buffer.alloc(len);
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = x % 256;
    x = Math.floor(x / 256);
  }
  out[0] = (out[0] ?? 0) | (0x80 >> (len - 1));
  return out;
}

export function ebmlEl(el: El): Buffer {
  const body = bodyOf(el, ebmlEl);
  return Buffer.concat([ebmlId(Number(el.id)), ebmlSize(body.length, el.size), body]);
}

/** Boundaries: the top level, and inside every unknown-size element. */
function ebmlBoundaries(els: readonly El[], start: number, out: Set<number>): number {
  let pos = start;
  for (const el of els) {
    out.add(pos);
    const bytes = ebmlEl(el);
    if (el.size === 'unknown' && !Buffer.isBuffer(el.body)) {
      const headerLen = bytes.length - bodyOf(el, ebmlEl).length;
      ebmlBoundaries(el.body as readonly El[], pos + headerLen, out);
    }
    pos += bytes.length;
  }
  out.add(pos);
  return pos;
}

// --- RIFF -----------------------------------------------------------------------------------

export function riffChunk(el: El): Buffer {
  const body = Buffer.concat([el.meta ?? Buffer.alloc(0), bodyOf(el, riffChunk)]);
  const len = el.size === 'zero' ? 0 : Math.max(0, body.length + delta(el.size));
  return Buffer.concat([Buffer.from(String(el.id).padEnd(4).slice(0, 4), 'latin1'), u32le(len), body, Buffer.alloc(body.length & 1)]);
}

// --- PNG ------------------------------------------------------------------------------------

export function pngChunk(el: El): Buffer {
  const data = bodyOf(el, pngChunk);
  const td = Buffer.concat([Buffer.from(String(el.id), 'latin1'), data]);
  return Buffer.concat([u32be(Math.max(0, data.length + delta(el.size))), td, u32be(crc32(td))]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngIhdr(width: number, height: number): El {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = 8;
  b[9] = 2;
  return { id: 'IHDR', body: b };
}

export const pngIdat = (): El => ({ id: 'IDAT', body: deflateSync(Buffer.alloc(64)) });

// --- Ogg ------------------------------------------------------------------------------------

export interface PageFields {
  readonly flags: number;
  readonly serial: number;
  readonly seq: number;
}

export function oggPageEl(f: PageFields, body: Buffer): El {
  const meta = Buffer.alloc(9);
  meta[0] = f.flags;
  meta.writeUInt32LE(f.serial, 1);
  meta.writeUInt32LE(f.seq, 5);
  return { id: 'page', meta, body };
}

export function oggPage(el: El): Buffer {
  const body = bodyOf(el, oggPage);
  const meta = el.meta ?? Buffer.alloc(9);
  const lacing: number[] = [];
  let left = body.length;
  while (left >= 255 && lacing.length < 254) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(Math.min(255, left));
  const last = lacing.length - 1;
  lacing[last] = Math.max(0, Math.min(255, (lacing[last] ?? 0) + delta(el.size)));
  const h = Buffer.alloc(27);
  h.write('OggS', 0, 'latin1');
  h[5] = meta[0] ?? 0;
  h.writeUInt32LE(meta.readUInt32LE(1), 14);
  h.writeUInt32LE(meta.readUInt32LE(5), 18);
  h[26] = lacing.length;
  return Buffer.concat([h, Buffer.from(lacing), body]);
}

// --- JPEG -----------------------------------------------------------------------------------

/** Markers without a length; 'ecs' is entropy-coded data written as is. */
const STANDALONE = new Set([0xd8, 0xd9, 0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]);

export function jpegSegment(el: El): Buffer {
  const body = bodyOf(el, jpegSegment);
  if (el.id === 'ecs' || el.id === 'raw') return body;
  const code = Number(el.id);
  if (STANDALONE.has(code)) return Buffer.from([0xff, code]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(Math.max(0, Math.min(0xffff, body.length + 2 + delta(el.size))));
  return Buffer.concat([Buffer.from([0xff, code]), len, body]);
}

// --- MP3 and FLAC ---------------------------------------------------------------------------

/** An MPEG-1 layer III frame header (128 kbit/s, 44.1 kHz): frames of 417 bytes. */
export const MP3_HEADER = Buffer.from([0xff, 0xfb, 0x90, 0x64]);
export const MP3_FRAME_BYTES = 417;

export function mp3Frame(el: El): Buffer {
  if (el.id !== 'frame') return bodyOf(el, mp3Frame);
  const header = el.meta ?? MP3_HEADER;
  const body = bodyOf(el, mp3Frame);
  const want = Math.max(0, MP3_FRAME_BYTES - 4 + delta(el.size));
  const sized = Buffer.alloc(want);
  body.copy(sized, 0, 0, Math.min(body.length, want));
  return Buffer.concat([header, sized]);
}

export function id3v2Tag(body: Buffer, major = 3): Buffer {
  const n = body.length;
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, major, 0, 0, (n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]), body]);
}

export function id3v1Tag(title = 'title'): Buffer {
  const b = Buffer.alloc(128);
  b.write('TAG', 0, 'latin1');
  b.write(title, 3, 'latin1');
  return b;
}

export function apeTag(items: ReadonlyArray<readonly [string, Buffer]>, withHeader = true): Buffer {
  const body = Buffer.concat(items.map(([k, v]) => Buffer.concat([u32le(v.length), u32le(0), Buffer.from(`${k}\0`, 'latin1'), v])));
  const block = (header: boolean): Buffer => {
    const b = Buffer.alloc(32);
    b.write('APETAGEX', 0, 'latin1');
    b.writeUInt32LE(2000, 8);
    b.writeUInt32LE(body.length + 32, 12);
    b.writeUInt32LE(items.length, 16);
    b.writeUInt32LE(((withHeader ? 0x80000000 : 0) | (header ? 0x20000000 : 0)) >>> 0, 20);
    return b;
  };
  return Buffer.concat([withHeader ? block(true) : Buffer.alloc(0), body, block(false)]);
}

/** A FLAC frame header for frame number `n` (fixed 4096-sample blocks, 44.1 kHz, stereo, 16 bit). */
export function flacFrameHeader(n: number): Buffer {
  const h = Buffer.from([0xff, 0xf8, 0xc9, 0x18, n & 0x7f]);
  return Buffer.concat([h, Buffer.from([flacCrc8(h)])]);
}

/** FLAC: 'raw' bytes as is; a metadata block (id = its type, last flag set by the writer); a 'frame' with a correct CRC-16 unless its size lies. */
export function flacBlocks(els: readonly El[]): Buffer {
  const lastBlock = els.reduce((acc, el, i) => (typeof el.id === 'number' ? i : acc), -1);
  return Buffer.concat(els.map((el, i) => {
    const body = bodyOf(el, (e) => flacBlocks([e]));
    if (typeof el.id === 'number') {
      const h = Buffer.alloc(4);
      h[0] = (i === lastBlock ? 0x80 : 0) | (el.id & 0x7f);
      h.writeUIntBE(Math.max(0, Math.min(0xffffff, body.length + delta(el.size))), 1, 3);
      return Buffer.concat([h, body]);
    }
    if (el.id !== 'frame') return body;
    const frame = Buffer.concat([el.meta ?? flacFrameHeader(0), body]);
    const footer = Buffer.alloc(2);
    footer.writeUInt16BE((flacCrc16(frame) + delta(el.size)) & 0xffff);
    return Buffer.concat([frame, footer]);
  }));
}

export function streamInfo(): El {
  return { id: 0, body: Buffer.alloc(34, 0x10) };
}

// --- dispatch -------------------------------------------------------------------------------

/** `unsized`: elements without framing of their own (JPEG fill or padding bytes): a cut anywhere in them is a boundary. */
const flatSerializer = (one: (el: El) => Buffer, prefix = Buffer.alloc(0), unsized: (el: El) => boolean = () => false) => (els: readonly El[]): Serialized => {
  const parts: Buffer[] = [prefix];
  const boundaries = new Set<number>([prefix.length]);
  let pos = prefix.length;
  for (const el of els) {
    const b = one(el);
    parts.push(b);
    if (unsized(el)) for (let i = 1; i < b.length; i++) boundaries.add(pos + i);
    pos += b.length;
    boundaries.add(pos);
  }
  return { bytes: Buffer.concat(parts), boundaries };
};

export const SERIALIZERS: Readonly<Record<FormatName, (els: readonly El[]) => Serialized>> = {
  isobmff: flatSerializer(isoBox),
  'riff-wave': flatSerializer(riffChunk),
  'riff-avi': flatSerializer(riffChunk),
  ogg: flatSerializer(oggPage),
  png: flatSerializer(pngChunk, PNG_SIGNATURE),
  jpeg: flatSerializer(jpegSegment, Buffer.alloc(0), (el) => el.id === 'raw'),
  mp3: flatSerializer(mp3Frame),
  flac: (els) => {
    // Boundaries between frames only (a cut between metadata blocks leaves a broken header).
    const bytes = flacBlocks(els);
    const boundaries = new Set<number>();
    const lastBlock = els.reduce((acc, el, i) => (typeof el.id === 'number' ? i : acc), -1);
    let pos = 0;
    els.forEach((el, i) => {
      pos += flacBlocks([el]).length;
      if (el.id === 'frame' || i === lastBlock) boundaries.add(pos);
    });
    return { bytes, boundaries };
  },
  ebml: (els) => {
    const boundaries = new Set<number>();
    ebmlBoundaries(els, 0, boundaries);
    return { bytes: Buffer.concat(els.map(ebmlEl)), boundaries };
  },
};

/** The magic type (file-type's extension) that selects each walker. */
export const MAGIC_OF: Readonly<Record<FormatName, string>> = {
  isobmff: 'mp4', ebml: 'mkv', 'riff-wave': 'wav', 'riff-avi': 'avi', ogg: 'ogg', png: 'png', jpeg: 'jpg', mp3: 'mp3', flac: 'flac',
};
