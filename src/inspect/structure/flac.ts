/**
 * FLAC: optional ID3v2 tags, "fLaC", the metadata blocks (STREAMINFO first and once, the last
 * one flagged), then audio frames up to the tags at the end (ID3v1, APE). FLAC frames carry no
 * length: a frame ends where its CRC-16 footer matches and the next frame header (sync code and
 * CRC-8) begins, or at the end of the audio. One running CRC over the audio, so the walk is
 * linear in the file and proves every frame whole: a frame cut short, or bytes appended after
 * the last frame, leave a CRC that does not match at the end.
 */
import type { WalkContext } from './report.js';
import { WINDOW_BYTES, type Source } from './source.js';
import { skipLeadingId3, trailingTagsStart } from './tags.js';

const CRC16 = new Uint16Array(256);
const CRC8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x8005 : c << 1;
  CRC16[i] = c & 0xffff;
  let d = i;
  for (let k = 0; k < 8; k++) d = d & 0x80 ? (d << 1) ^ 0x07 : d << 1;
  CRC8[i] = d & 0xff;
}

/** CRC-16 (polynomial 0x8005, FLAC's frame footer) of `b`. */
export function flacCrc16(b: Uint8Array): number {
  let crc = 0;
  for (const x of b) crc = ((crc << 8) & 0xffff) ^ (CRC16[(crc >> 8) ^ x] ?? 0);
  return crc;
}

/** CRC-8 (polynomial 0x07, FLAC's frame header check) of `b`. */
export function flacCrc8(b: Uint8Array): number {
  let crc = 0;
  for (const x of b) crc = CRC8[crc ^ x] ?? 0;
  return crc;
}

/** A frame header is at least this long; a frame at least MIN_FRAME bytes. */
const HEADER_MAX = 16;
const MIN_FRAME = 8;

/** The length of the FLAC frame header at `b[i..]` if one is there (sync, fields, CRC-8). Pure. */
export function flacFrameHeader(b: Buffer, i: number): number | undefined {
  if (b[i] !== 0xff || ((b[i + 1] ?? 0) & 0xfe) !== 0xf8) return undefined;
  const b2 = b[i + 2] ?? 0;
  const b3 = b[i + 3] ?? 0;
  const blockSize = b2 >> 4;
  const rate = b2 & 15;
  if (blockSize === 0 || rate === 15 || b3 >> 4 > 10 || ((b3 >> 1) & 7) === 3 || (b3 & 1) !== 0) return undefined;
  // The frame or sample number, UTF-8 coded (up to 7 bytes).
  const c = b[i + 4] ?? 0xff;
  const extra = c < 0x80 ? 0 : c >= 0xc0 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xf8 && c < 0xfc ? 4 : c >= 0xfc && c < 0xfe ? 5 : c === 0xfe ? 6 : -1;
  if (extra < 0) return undefined;
  for (let k = 1; k <= extra; k++) if (((b[i + 4 + k] ?? 0) & 0xc0) !== 0x80) return undefined;
  let len = 5 + extra + (blockSize === 6 ? 1 : blockSize === 7 ? 2 : 0) + (rate === 12 ? 1 : rate === 13 || rate === 14 ? 2 : 0);
  if (i + len + 1 > b.length) return undefined;
  if (flacCrc8(b.subarray(i, i + len)) !== b[i + len]) return undefined;
  len++;
  return len;
}

async function walkMetadata(s: Source, ctx: WalkContext, start: number): Promise<number> {
  let pos = start + 4;
  for (let n = 0; ; n++) {
    const h = s.peek(pos, 4) ?? (await s.bytes(pos, 4));
    if (h.length < 4) ctx.beyond('FLAC metadata block', pos, 4, s.size, undefined);
    const last = ((h[0] ?? 0) & 0x80) !== 0;
    const type = (h[0] ?? 0) & 0x7f;
    const len = h.readUIntBE(1, 3);
    if (type === 127) ctx.fail('malformed', pos, `FLAC metadata block at byte ${pos} has the invalid type 127`);
    if ((n === 0) !== (type === 0)) ctx.fail('malformed', pos, n === 0 ? `the first FLAC metadata block (byte ${pos}) is type ${type}, not STREAMINFO` : `a second STREAMINFO block at byte ${pos}`);
    if (type === 0 && len !== 34) ctx.fail('malformed', pos, `STREAMINFO at byte ${pos} is ${len} bytes, not 34`);
    if (pos + 4 + len > s.size) ctx.beyond(`FLAC metadata block (type ${type})`, pos, 4 + len, s.size, undefined);
    ctx.elements++;
    pos += 4 + len;
    if (last) return pos;
  }
}

/** Whether a frame header starts at `q` (reading past the window if it must). */
async function headerAt(s: Source, chunk: Buffer, i: number, q: number): Promise<boolean> {
  if (chunk[i] !== 0xff) return false;
  const b = i + HEADER_MAX <= chunk.length ? chunk.subarray(i, i + HEADER_MAX) : await s.bytes(q, HEADER_MAX);
  return flacFrameHeader(b, 0) !== undefined;
}

async function walkFrames(s: Source, ctx: WalkContext, start: number, end: number): Promise<void> {
  if (start === end) return;
  const first = s.peek(start, HEADER_MAX) ?? (await s.bytes(start, HEADER_MAX));
  if (flacFrameHeader(first.subarray(0, Math.min(first.length, end - start)), 0) === undefined) ctx.fail('malformed', start, `garbage where the first FLAC frame must start at byte ${start}`);
  let frameStart = start;
  let lastMatch = -1;
  let crc = 0;
  let p = start;
  while (p < end) {
    const window = s.peek(p, WINDOW_BYTES) ?? (await s.bytes(p, WINDOW_BYTES));
    const chunk = window.subarray(0, Math.min(window.length, end - p));
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) {
      crc = ((crc << 8) & 0xffff) ^ (CRC16[(crc >> 8) ^ (chunk[i] ?? 0)] ?? 0);
      if (crc !== 0) continue;
      const q = p + i + 1;
      if (q - frameStart < MIN_FRAME) continue;
      if (q === end) {
        ctx.elements++;
        return;
      }
      if (await headerAt(s, chunk, i + 1, q)) {
        ctx.elements++;
        frameStart = q;
      } else {
        lastMatch = q;
      }
    }
    p += chunk.length;
  }
  if (lastMatch > frameStart) ctx.fail('trailing-data', lastMatch, `the FLAC frame at byte ${frameStart} ends at byte ${lastMatch}, but ${end - lastMatch} bytes follow that are not a frame (appended data, or a damaged frame)`);
  ctx.fail('truncated', frameStart, `the FLAC frame at byte ${frameStart} does not end where the audio ends (byte ${end}): its CRC-16 does not match, so the file is truncated or damaged`);
}

export async function walkFlac(s: Source, ctx: WalkContext): Promise<void> {
  const start = await skipLeadingId3(s, ctx, 0);
  const magic = s.peek(start, 4) ?? (await s.bytes(start, 4));
  if (magic.toString('latin1') !== 'fLaC') ctx.fail('malformed', start, `no "fLaC" marker at byte ${start}`);
  const audio = await walkMetadata(s, ctx, start);
  const end = await trailingTagsStart(s, ctx, audio);
  await walkFrames(s, ctx, audio, end);
}
