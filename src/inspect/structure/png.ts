/**
 * PNG: the signature, then chunks (IHDR first, exactly once) up to IEND; nothing after IEND.
 * The IHDR dimensions are reported, so they are checked whatever a decoder manages to report.
 */
import { fourcc, type WalkContext } from './report.js';
import type { Source } from './source.js';

const IHDR = 0x49484452;
const IEND = 0x49454e44;
const letter = (c: number | undefined): boolean => c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function walkPng(s: Source, ctx: WalkContext): Promise<void> {
  const sig = s.peek(0, 8) ?? (await s.bytes(0, 8));
  if (!sig.equals(SIGNATURE.subarray(0, sig.length))) ctx.fail('malformed', 0, 'the file does not start with the PNG signature');
  if (sig.length < 8) ctx.fail('truncated', sig.length, 'the file ends inside the PNG signature');
  let pos = 8;
  for (let n = 0; ; n++) {
    if (pos >= s.size) ctx.fail('truncated', pos, 'the PNG has no IEND chunk (truncated)');
    if (!s.has(pos, 16)) await s.fill(pos, 16);
    // Read straight from the window: no allocation per chunk.
    const h = s.window;
    const o = pos - s.windowAt;
    if (s.size - pos < 8) ctx.fail('truncated', pos, `the file ends inside a PNG chunk header at byte ${pos}`);
    if (!letter(h[o + 4]) || !letter(h[o + 5]) || !letter(h[o + 6]) || !letter(h[o + 7])) ctx.fail('malformed', pos, `garbage where a PNG chunk must start at byte ${pos}`);
    const len = h.readUInt32BE(o);
    const type = h.readUInt32BE(o + 4);
    if (len > 0x7fffffff) ctx.fail('malformed', pos, `chunk "${fourcc(h, o + 4)}" at byte ${pos} declares ${len} bytes, more than a PNG chunk may hold`);
    if ((n === 0) !== (type === IHDR)) ctx.fail('malformed', pos, n === 0 ? `the first PNG chunk is "${fourcc(h, o + 4)}", not IHDR` : `a second IHDR chunk at byte ${pos}`);
    if (n === 0 && s.size - pos >= 16) ctx.declared = { width: h.readUInt32BE(o + 8), height: h.readUInt32BE(o + 12) };
    const total = 12 + len;
    if (pos + total > s.size) ctx.beyond(`chunk "${fourcc(h, o + 4)}"`, pos, total, s.size, undefined);
    ctx.elements++;
    pos += total;
    if (type === IEND) break;
  }
  if (pos < s.size) ctx.trailing(pos, 'PNG (IEND)');
}
