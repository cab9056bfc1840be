/**
 * The metadata tags that frame an MP3 or FLAC stream: ID3v2 at the start (and, in ID3v2.4,
 * appended with a footer), APEv1/v2, Lyrics3v2 and ID3v1 at the end. Each is recognised by its
 * own framing (sizes checked, APE items walked), so the walker knows exactly which bytes are
 * tags and which must be audio frames.
 */
import type { WalkContext } from './report.js';
import type { Source } from './source.js';

/** The size of an ID3v2 tag starting at `pos` (header, body, footer), or undefined if none starts there. */
export async function id3v2At(s: Source, ctx: WalkContext, pos: number): Promise<number | undefined> {
  const h = s.peek(pos, 10) ?? (await s.bytes(pos, 10));
  if (h.length < 3 || h.toString('latin1', 0, 3) !== 'ID3') return undefined;
  if (h.length < 10) ctx.beyond('ID3v2 tag', pos, 10, s.size, undefined);
  const major = h[3] ?? 0;
  if (major < 2 || major > 4 || h[4] === 0xff || [6, 7, 8, 9].some((i) => (h[i] ?? 0) >= 0x80)) {
    ctx.fail('malformed', pos, `ID3v2 tag at byte ${pos} has an invalid header`);
  }
  const body = ((h[6] ?? 0) << 21) | ((h[7] ?? 0) << 14) | ((h[8] ?? 0) << 7) | (h[9] ?? 0);
  const footer = major === 4 && ((h[5] ?? 0) & 0x10) !== 0 ? 10 : 0;
  const total = 10 + body + footer;
  if (pos + total > s.size) ctx.beyond('ID3v2 tag', pos, total, s.size, undefined);
  ctx.elements++;
  return total;
}

/** Consecutive ID3v2 tags from `pos`; returns where they end. */
export async function skipLeadingId3(s: Source, ctx: WalkContext, pos: number): Promise<number> {
  let p = pos;
  for (let n = await id3v2At(s, ctx, p); n !== undefined; n = await id3v2At(s, ctx, p)) p += n;
  return p;
}

const ASCII = (b: Buffer, at: number, text: string): boolean => b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;

/** APEv1/v2 tag ending at `end` (its 32-byte footer last): its total size, items checked. */
async function apeEndingAt(s: Source, ctx: WalkContext, end: number, floor: number): Promise<number | undefined> {
  if (end - floor < 32) return undefined;
  const f = s.peek(end - 32, 32) ?? (await s.bytes(end - 32, 32));
  if (!ASCII(f, 0, 'APETAGEX')) return undefined;
  const version = f.readUInt32LE(8);
  const size = f.readUInt32LE(12);
  const count = f.readUInt32LE(16);
  const hasHeader = version >= 2000 && (f.readUInt32LE(20) & 0x80000000) !== 0;
  const total = size + (hasHeader ? 32 : 0);
  const start = end - total;
  if ((version !== 1000 && version !== 2000) || size < 32 || start < floor) ctx.fail('malformed', end - 32, `APE tag footer at byte ${end - 32} declares an impossible tag (version ${version}, ${size} bytes)`);
  if (hasHeader) {
    const h = s.peek(start, 8) ?? (await s.bytes(start, 8));
    if (!ASCII(h, 0, 'APETAGEX')) ctx.fail('malformed', start, `APE tag at byte ${start} has a footer but no matching header`);
  }
  // Items: value size, flags, a NUL-terminated ASCII key, the value; they must fill the tag.
  let p = start + (hasHeader ? 32 : 0);
  const itemsEnd = end - 32;
  for (let i = 0; i < count; i++) {
    const ih = s.peek(p, 8 + 256) ?? (await s.bytes(p, 8 + 256));
    if (ih.length < 10 || p + 10 > itemsEnd) ctx.fail('malformed', p, `APE tag item ${i} at byte ${p} overruns its tag`);
    const valueSize = ih.readUInt32LE(0);
    const nul = ih.indexOf(0, 8);
    if (nul < 10 || nul > 8 + 255) ctx.fail('malformed', p, `APE tag item ${i} at byte ${p} has no valid key`);
    for (let k = 8; k < nul; k++) if ((ih[k] ?? 0) < 0x20 || (ih[k] ?? 0) > 0x7e) ctx.fail('malformed', p, `APE tag item ${i} at byte ${p} has a key that is not printable ASCII`);
    const next = p + nul + 1 + valueSize;
    if (next > itemsEnd) ctx.fail('malformed', p, `APE tag item ${i} at byte ${p} declares ${valueSize} bytes, beyond the end of its tag`);
    p = next;
  }
  if (p !== itemsEnd) ctx.fail('malformed', p, `${itemsEnd - p} bytes of the APE tag at byte ${start} belong to none of its ${count} items`);
  ctx.elements += count + 1;
  return total;
}

/** Lyrics3v2 ending at `end` ("LYRICS200" last): its total size. */
async function lyrics3EndingAt(s: Source, ctx: WalkContext, end: number, floor: number): Promise<number | undefined> {
  if (end - floor < 15 + 11) return undefined;
  const f = s.peek(end - 15, 15) ?? (await s.bytes(end - 15, 15));
  if (!ASCII(f, 6, 'LYRICS200') || !/^\d{6}$/.test(f.toString('latin1', 0, 6))) return undefined;
  const total = Number(f.toString('latin1', 0, 6)) + 15;
  const start = end - total;
  const h = start >= floor ? (s.peek(start, 11) ?? (await s.bytes(start, 11))) : Buffer.alloc(0);
  if (!ASCII(h, 0, 'LYRICSBEGIN')) ctx.fail('malformed', end - 15, `Lyrics3v2 tag ending at byte ${end} does not start with LYRICSBEGIN where its size says`);
  ctx.elements++;
  return total;
}

/** An ID3v2.4 tag appended at the end (its footer "3DI" last): its total size. */
async function id3FooterEndingAt(s: Source, ctx: WalkContext, end: number, floor: number): Promise<number | undefined> {
  if (end - floor < 20) return undefined;
  const f = s.peek(end - 10, 10) ?? (await s.bytes(end - 10, 10));
  if (!ASCII(f, 0, '3DI')) return undefined;
  const body = ((f[6] ?? 0) << 21) | ((f[7] ?? 0) << 14) | ((f[8] ?? 0) << 7) | (f[9] ?? 0);
  const total = body + 20;
  const start = end - total;
  const h = start >= floor ? (s.peek(start, 3) ?? (await s.bytes(start, 3))) : Buffer.alloc(0);
  if (!ASCII(h, 0, 'ID3')) ctx.fail('malformed', end - 10, `ID3v2 footer at byte ${end - 10} has no matching header`);
  ctx.elements++;
  return total;
}

/**
 * Strip the tags at the end of the file (each kind at most once, in the order writers put them:
 * audio, APE or Lyrics3 or an appended ID3v2, then ID3v1). Returns where the audio must end.
 */
export async function trailingTagsStart(s: Source, ctx: WalkContext, floor: number): Promise<number> {
  let end = s.size;
  if (end - floor >= 128) {
    const t = s.peek(end - 128, 3) ?? (await s.bytes(end - 128, 3));
    if (ASCII(t, 0, 'TAG')) {
      end -= 128;
      ctx.elements++;
      const plus = end - floor >= 227 ? (s.peek(end - 227, 4) ?? (await s.bytes(end - 227, 4))) : Buffer.alloc(0);
      if (ASCII(plus, 0, 'TAG+')) end -= 227;
    }
  }
  const finders = [apeEndingAt, lyrics3EndingAt, id3FooterEndingAt];
  for (let found = true; found && finders.length > 0; ) {
    found = false;
    for (let i = 0; i < finders.length; i++) {
      const n = await finders[i]!(s, ctx, end, floor);
      if (n !== undefined) {
        end -= n;
        finders.splice(i, 1);
        found = true;
        break;
      }
    }
  }
  return end;
}
