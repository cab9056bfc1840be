/**
 * JPEG: markers and their segments from SOI to EOI, the entropy-coded data after each SOS
 * scanned to the next marker. Every scan is a synchronous pass over the read window (indexOf,
 * or a tight loop over a run of fill bytes) that awaits only to refill the window: linear in
 * the file, never one await per byte or per marker. After EOI only zero or 0xFF padding is
 * tolerated (a named tolerance); anything else is another file.
 */
import type { WalkContext } from './report.js';
import { WINDOW_BYTES, type Source } from './source.js';

const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isRst = (m: number): boolean => m >= 0xd0 && m <= 0xd7;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;
const PADDING_MAX = 1024 * 1024;

async function chunkAt(s: Source, pos: number): Promise<Buffer> {
  return s.peek(pos, WINDOW_BYTES) ?? (await s.bytes(pos, WINDOW_BYTES));
}

/** The first position at or after `pos` whose byte is not 0xFF (s.size if none). */
async function skipFill(s: Source, pos: number): Promise<number> {
  let p = pos;
  while (p < s.size) {
    const chunk = await chunkAt(s, p);
    if (chunk.length === 0) return s.size;
    let i = 0;
    while (i < chunk.length && chunk[i] === 0xff) i++;
    if (i < chunk.length) return p + i;
    p += chunk.length;
  }
  return s.size;
}

/**
 * From `pos` inside entropy-coded data: the position of the 0xFF that starts the next marker
 * (a 0xFF followed, after any fill bytes, by a code that is not 0x00 or RSTn), or s.size.
 */
async function scanEntropy(s: Source, pos: number): Promise<number> {
  let p = pos;
  while (p < s.size) {
    const chunk = await chunkAt(s, p);
    if (chunk.length === 0) return s.size;
    let i = chunk.indexOf(0xff);
    while (i >= 0) {
      let j = i + 1;
      while (j < chunk.length && chunk[j] === 0xff) j++;
      if (j >= chunk.length) break; // the run reaches the end of the window
      const code = chunk[j] ?? 0;
      if (code !== 0x00 && !isRst(code)) return p + j - 1;
      i = chunk.indexOf(0xff, j + 1);
    }
    if (i < 0) {
      p += chunk.length;
      continue;
    }
    // A run of 0xFF across the window's end: find its code past the boundary.
    const next = await skipFill(s, p + i + 1);
    const code = await s.byte(next);
    if (code === undefined) return s.size;
    if (code !== 0x00 && !isRst(code)) return next - 1;
    p = next + 1;
  }
  return s.size;
}

async function checkAfterEoi(s: Source, ctx: WalkContext, pos: number): Promise<void> {
  if (pos >= s.size) return;
  if (s.size - pos <= PADDING_MAX) {
    let p = pos;
    let padding = true;
    while (p < s.size && padding) {
      const chunk = await chunkAt(s, p);
      if (chunk.length === 0) break;
      for (let i = 0; i < chunk.length && padding; i++) padding = chunk[i] === 0x00 || chunk[i] === 0xff;
      p += chunk.length;
    }
    if (padding && ctx.tolerate('jpeg-padding-after-eoi', pos, `${s.size - pos} bytes of padding after the end-of-image marker`)) return;
  }
  ctx.trailing(pos, 'JPEG (end-of-image marker)');
}

export async function walkJpeg(s: Source, ctx: WalkContext): Promise<void> {
  const soi = s.peek(0, 2) ?? (await s.bytes(0, 2));
  if (soi[0] !== 0xff || (soi.length > 1 && soi[1] !== SOI)) ctx.fail('malformed', 0, 'the file does not start with a JPEG start-of-image marker');
  if (soi.length < 2) ctx.fail('truncated', soi.length, 'the file ends inside the JPEG start-of-image marker');
  let pos = 2;
  for (;;) {
    // Marker, fill bytes, code and length read straight from the window (no allocation per marker).
    if (!s.has(pos, 16)) await s.fill(pos, 16);
    if (pos >= s.size) ctx.fail('truncated', pos, 'the JPEG has no end-of-image marker (truncated)');
    let w = s.window;
    let o = pos - s.windowAt;
    if (w[o] !== 0xff) ctx.fail('malformed', pos, `garbage where a JPEG marker must start at byte ${pos}`);
    const at = pos;
    const avail = Math.min(16, s.size - pos);
    let k = 1;
    while (k < avail && w[o + k] === 0xff) k++;
    const codeAt = k < avail ? pos + k : await skipFill(s, pos + 1);
    if (!s.has(codeAt, 10)) await s.fill(codeAt, 10);
    w = s.window;
    o = codeAt - s.windowAt;
    const m = codeAt < s.size ? w[o] : undefined;
    if (m === undefined) ctx.fail('truncated', codeAt, 'the JPEG has no end-of-image marker (truncated)');
    pos = codeAt + 1;
    ctx.elements++;
    if (m === EOI) break;
    if (isRst(m) || m === TEM) continue;
    const name = `segment 0xFF${m.toString(16).toUpperCase().padStart(2, '0')}`;
    if (m === 0x00 || m === SOI) ctx.fail('malformed', at, `${name} at byte ${at} cannot appear here`);
    if (s.size - codeAt < 3) ctx.beyond(name, at, 4, s.size, undefined);
    const seg = w.subarray(o, o + Math.min(10, s.size - codeAt));
    const len = seg.readUInt16BE(1);
    if (len < 2) ctx.fail('malformed', at, `${name} at byte ${at} has an impossible length of ${len}`);
    if (pos + len > s.size) ctx.beyond(name, at, len + 2, s.size, undefined);
    if (isSof(m) && ctx.declared === undefined && seg.length >= 8) ctx.declared = { height: seg.readUInt16BE(4), width: seg.readUInt16BE(6) };
    pos += len;
    if (m === SOS) pos = await scanEntropy(s, pos);
  }
  await checkAfterEoi(s, ctx, pos);
}
