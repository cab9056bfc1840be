/**
 * RIFF (wav, avi): the RIFF chunk covers the file; its chunks tile it (each padded to an even
 * length) and the sub-chunks of every LIST tile the LIST. Decided explicitly:
 *   - a second top-level RIFF is another file appended, except AVI's OpenDML extensions
 *     (`RIFF AVIX`), which is how AVI files grow past 1 GiB;
 *   - fewer than 8 bytes left at the end of a RIFF or LIST cannot be a chunk: slack bytes that
 *     belong to nothing, malformed;
 *   - the pad byte after an odd-sized chunk may be missing only where the RIFF itself ends.
 */
import { fourcc, printable4, type WalkContext } from './report.js';
import type { Source } from './source.js';

const LIST = 0x4c495354; // "LIST"

async function walkChunks(s: Source, ctx: WalkContext, parent: string, first: number, end: number, depth: number): Promise<void> {
  ctx.depth(first, parent, depth);
  let c = first;
  while (c < end) {
    if (end - c < 8) ctx.fail('malformed', c, `${end - c} bytes at the end of ${parent} (byte ${c}) do not form a chunk (slack bytes that belong to nothing)`);
    if (!s.has(c, 12)) await s.fill(c, 12);
    // Read straight from the window: no allocation per chunk.
    const w = s.window;
    const o = c - s.windowAt;
    if (!printable4(w, o)) ctx.fail('malformed', c, `garbage where a RIFF chunk must start at byte ${c} (inside ${parent})`);
    const len = w.readUInt32LE(o + 4);
    if (c + 8 + len > end) ctx.beyond(`chunk "${fourcc(w, o)}"`, c, len + 8, end, parent);
    ctx.elements++;
    if (w.readUInt32BE(o) === LIST) {
      if (len < 4) ctx.fail('malformed', c, `LIST chunk at byte ${c} is too short (${len} bytes) for its list type`);
      if (!printable4(w, o + 8)) ctx.fail('malformed', c + 8, `LIST chunk at byte ${c} has no valid list type`);
      await walkChunks(s, ctx, `LIST "${fourcc(w, o + 8)}"`, c + 12, c + 8 + len, depth + 1);
    }
    c += 8 + len + (len & 1);
  }
}

export async function walkRiff(s: Source, ctx: WalkContext, form: string): Promise<void> {
  let pos = 0;
  while (pos < s.size) {
    const h = s.peek(pos, 12) ?? (await s.bytes(pos, 12));
    const isRiff = h.length >= 12 && fourcc(h, 0) === 'RIFF';
    if (pos === 0) {
      if (!isRiff || fourcc(h, 8) !== form) ctx.fail('malformed', 0, `the file does not start with a RIFF "${form}" header`);
    } else if (!isRiff) {
      ctx.trailing(pos, 'RIFF data');
    } else if (!(form === 'AVI ' && fourcc(h, 8) === 'AVIX')) {
      ctx.fail('trailing-data', pos, `a second RIFF chunk ("${fourcc(h, 8)}") at byte ${pos} follows the first: another file appended (a polyglot)`);
    }
    const riffSize = h.readUInt32LE(4);
    const end = pos + 8 + riffSize;
    if (end > s.size) ctx.beyond(`RIFF chunk "${fourcc(h, 8)}"`, pos, riffSize + 8, s.size, undefined);
    if (riffSize < 4) ctx.fail('malformed', pos, `RIFF chunk at byte ${pos} is too short (${riffSize} bytes) for its form type`);
    ctx.elements++;
    await walkChunks(s, ctx, `RIFF "${fourcc(h, 8)}"`, pos + 12, end, 1);
    pos = end + (riffSize & 1 && end < s.size ? 1 : 0);
  }
}
