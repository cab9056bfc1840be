/**
 * PNG: the signature, then chunks (IHDR first, exactly once) up to IEND; nothing after IEND.
 * The IHDR dimensions are reported, so they are checked whatever a decoder manages to report.
 */
import { fourcc, type WalkContext } from './report.js';
import type { Source } from './source.js';

const CHUNK_TYPE = /^[A-Za-z]{4}$/;

export async function walkPng(s: Source, ctx: WalkContext): Promise<void> {
  let pos = 8;
  for (let n = 0; ; n++) {
    if (pos >= s.size) ctx.fail('truncated', pos, 'the PNG has no IEND chunk (truncated)');
    const h = s.peek(pos, 16) ?? (await s.bytes(pos, 16));
    if (h.length < 8 || !CHUNK_TYPE.test(fourcc(h, 4))) {
      if (h.length < 8) ctx.fail('truncated', pos, `the file ends inside a PNG chunk header at byte ${pos}`);
      ctx.fail('malformed', pos, `garbage where a PNG chunk must start at byte ${pos}`);
    }
    const len = h.readUInt32BE(0);
    const type = fourcc(h, 4);
    if (len > 0x7fffffff) ctx.fail('malformed', pos, `chunk "${type}" at byte ${pos} declares ${len} bytes, more than a PNG chunk may hold`);
    if ((n === 0) !== (type === 'IHDR')) ctx.fail('malformed', pos, n === 0 ? `the first PNG chunk is "${type}", not IHDR` : `a second IHDR chunk at byte ${pos}`);
    if (n === 0 && h.length >= 16) ctx.declared = { width: h.readUInt32BE(8), height: h.readUInt32BE(12) };
    const total = 12 + len;
    if (pos + total > s.size) ctx.beyond(`chunk "${type}"`, pos, total, s.size, undefined);
    ctx.elements++;
    pos += total;
    if (type === 'IEND') break;
  }
  if (pos < s.size) ctx.trailing(pos, 'PNG (IEND)');
}
