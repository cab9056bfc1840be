/**
 * AAC in ADTS: ID3v2 tags at the start, then ADTS frames back to back (each header gives the
 * frame's length, 13 bits) up to the tags at the end (APE, Lyrics3, ID3v1). Every frame must
 * agree with the first on MPEG version, profile and sampling rate; a change, or an ID3v2 tag
 * after the audio began, is a second stream appended.
 */
import type { WalkContext } from './report.js';
import type { Source } from './source.js';
import { skipLeadingId3, trailingTagsStart } from './tags.js';

export interface AdtsFrame {
  /** MPEG version, profile and sampling-rate index: the same through the stream. */
  readonly signature: number;
  readonly length: number;
}

/** The ADTS header at `b[i..i+7)`, or undefined if it is not one. Pure. */
export function adtsFrame(b: Buffer, i: number): AdtsFrame | undefined {
  if (i + 7 > b.length || b[i] !== 0xff) return undefined;
  const b1 = b[i + 1] ?? 0;
  const b2 = b[i + 2] ?? 0;
  if ((b1 & 0xf6) !== 0xf0) return undefined; // 12-bit sync, layer 0
  const rate = (b2 >> 2) & 0x0f;
  if (rate > 12) return undefined;
  const length = (((b[i + 3] ?? 0) & 0x03) << 11) | ((b[i + 4] ?? 0) << 3) | ((b[i + 5] ?? 0) >> 5);
  const header = b1 & 1 ? 7 : 9;
  if (length < header) return undefined;
  return { signature: ((b1 >> 3) & 1) | ((b2 >> 6) << 1) | (rate << 3), length };
}

export async function walkAdts(s: Source, ctx: WalkContext): Promise<void> {
  const audioStart = await skipLeadingId3(s, ctx, 0);
  const audioEnd = await trailingTagsStart(s, ctx, audioStart);
  let pos = audioStart;
  let signature: number | undefined;
  while (pos < audioEnd) {
    if (!s.has(pos, 7)) await s.fill(pos, 7);
    const o = pos - s.windowAt;
    const h = s.window.subarray(0, Math.min(s.window.length, o + 7, audioEnd - s.windowAt));
    const f = adtsFrame(h, o);
    if (f === undefined || (signature !== undefined && f.signature !== signature)) {
      if (h.toString('latin1', o, o + 3) === 'ID3' && signature !== undefined) ctx.fail('trailing-data', pos, `an ID3v2 tag at byte ${pos}, after the audio began, starts another file appended after the first`);
      if (signature === undefined) ctx.fail('malformed', pos, `garbage where the first ADTS frame must start at byte ${pos}`);
      if (f !== undefined) ctx.fail('trailing-data', pos, `the ADTS frame at byte ${pos} changes profile or sampling rate: another stream appended after the first`);
      ctx.trailing(pos, 'last ADTS frame');
    }
    signature = f.signature;
    if (pos + f.length > audioEnd) ctx.beyond('ADTS frame', pos, f.length, audioEnd, audioEnd === s.size ? undefined : 'the tags at the end of the file');
    ctx.elements++;
    pos += f.length;
  }
  if (signature === undefined) ctx.fail('malformed', pos, 'the file holds no ADTS frame');
}
