/**
 * MP3 (MPEG audio layers I-III): ID3v2 tags at the start, then frames back to back (each
 * header gives the frame's length) up to the tags at the end (APE, Lyrics3, ID3v1). Every
 * frame must agree with the first on version, layer and sample rate. Decided explicitly:
 *   - a free-format frame (bitrate index 0) has no length in its header: unverified;
 *   - an ID3v2 tag after the audio has begun starts another file: a second container;
 *   - anything else between the frames and the end tags is trailing data (or garbage before
 *     the first frame: malformed).
 */
import type { WalkContext } from './report.js';
import type { Source } from './source.js';
import { skipLeadingId3, trailingTagsStart } from './tags.js';

const KBPS: Readonly<Record<string, readonly number[]>> = {
  // [version 1 | 2 (also 2.5)][layer 1..3]
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const RATES: Readonly<Record<number, readonly number[]>> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

export interface MpegFrame {
  /** version bits, layer bits and sample-rate index: must stay the same through the stream. */
  readonly signature: number;
  readonly length: number;
  readonly free: boolean;
}

/** The MPEG audio frame header at `b[i..i+4)`, or undefined if it is not one. Pure. */
export function mpegFrame(b: Buffer, i: number): MpegFrame | undefined {
  const b1 = b[i + 1] ?? 0;
  const b2 = b[i + 2] ?? 0;
  if (b[i] !== 0xff || (b1 & 0xe0) !== 0xe0 || i + 4 > b.length) return undefined;
  const version = (b1 >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
  const layer = 4 - ((b1 >> 1) & 3); // 1..3; 4 is reserved
  const brIndex = b2 >> 4;
  const srIndex = (b2 >> 2) & 3;
  if (version === 1 || layer === 4 || brIndex === 15 || srIndex === 3) return undefined;
  const signature = (b1 & 0x1e) | (srIndex << 5);
  if (brIndex === 0) return { signature, length: 0, free: true };
  const kbps = KBPS[`${version === 3 ? 1 : 2}-${layer}`]?.[brIndex] ?? 0;
  const rate = RATES[version]?.[srIndex] ?? 1;
  const pad = (b2 >> 1) & 1;
  const bps = kbps * 1000;
  const length = layer === 1 ? (Math.floor((12 * bps) / rate) + pad) * 4 : Math.floor(((layer === 3 && version !== 3 ? 72 : 144) * bps) / rate) + pad;
  return { signature, length, free: false };
}

export async function walkMp3(s: Source, ctx: WalkContext): Promise<void> {
  const audioStart = await skipLeadingId3(s, ctx, 0);
  const audioEnd = await trailingTagsStart(s, ctx, audioStart);
  let pos = audioStart;
  let signature: number | undefined;
  while (pos < audioEnd) {
    if (!s.has(pos, 4)) await s.fill(pos, 4);
    const h = s.window.subarray(0, Math.min(s.window.length, pos - s.windowAt + 4));
    const f = mpegFrame(h, pos - s.windowAt);
    if (f === undefined || (signature !== undefined && f.signature !== signature)) {
      if (h.toString('latin1', pos - s.windowAt, pos - s.windowAt + 3) === 'ID3' && signature !== undefined) ctx.fail('trailing-data', pos, `an ID3v2 tag at byte ${pos}, after the audio began, starts another file appended after the first`);
      if (signature === undefined) ctx.fail('malformed', pos, `garbage where the first MPEG audio frame must start at byte ${pos}`);
      if (f !== undefined) ctx.fail('trailing-data', pos, `the MPEG audio frame at byte ${pos} changes version, layer or sample rate: another stream appended after the first`);
      ctx.trailing(pos, 'last MPEG audio frame');
    }
    if (f.free) ctx.fail('unverified', pos, `the MPEG audio frame at byte ${pos} is free-format (no bitrate in its header), so where it ends cannot be verified`);
    signature = f.signature;
    if (pos + f.length > audioEnd) ctx.beyond('MPEG audio frame', pos, f.length, audioEnd, audioEnd === s.size ? undefined : 'the tags at the end of the file');
    ctx.elements++;
    pos += f.length;
  }
  if (signature === undefined) ctx.fail('malformed', pos, 'the file holds no MPEG audio frame');
}
