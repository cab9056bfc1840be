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
import { judgeRiffSize, type RiffChunk } from '../riff-tolerance.js';

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

/** The chunks of a RIFF file from byte 12 to the end of the file, whatever the RIFF size says (linear: one read per chunk header). */
async function chunksToEnd(s: Source): Promise<RiffChunk[]> {
  const chunks: RiffChunk[] = [];
  for (let c = 12; c + 8 <= s.size;) {
    const ch = s.peek(c, 12) ?? (await s.bytes(c, 12));
    if (!printable4(ch, 0)) break;
    const id = fourcc(ch, 0);
    const length = ch.readUInt32LE(4);
    chunks.push({ id, offset: c, length, ...(id === 'fact' && length >= 4 && ch.length >= 12 ? { samples: ch.readUInt32LE(8) } : {}) });
    c += 8 + length + (length & 1);
  }
  return chunks;
}

/**
 * A WAV whose RIFF size disagrees with its chunks: decided by riff-tolerance.ts. True when a
 * named tolerance accepted it (the chunks tile the file exactly; nothing follows them), false when
 * the walk must go on and decide (consistent sizes, or a truncation it will name).
 */
async function wavSizeDecided(s: Source, ctx: WalkContext, riffSize: number): Promise<boolean> {
  const chunks = await chunksToEnd(s);
  // A second RIFF in the list is a second file: the walk names it.
  if (chunks.some((c) => c.id === 'RIFF')) return false;
  const v = judgeRiffSize(riffSize, chunks, s.size);
  if (v.kind === 'inconsistent') ctx.fail('inconsistent-size', v.offset, v.message);
  if (v.kind !== 'tolerated') return false;
  const name = v.tolerance === 'streaming-placeholder' ? 'riff-streaming-placeholder' : 'riff-size-off-by-one-chunk';
  if (!ctx.tolerate(name, 0, v.message)) ctx.fail('inconsistent-size', 0, `inconsistent size field: ${v.message}`);
  return true;
}

export async function walkRiff(s: Source, ctx: WalkContext, form: string): Promise<void> {
  if (form === 'WAVE') {
    const h = s.peek(0, 12) ?? (await s.bytes(0, 12));
    if (h.length >= 12 && fourcc(h, 0) === 'RIFF' && fourcc(h, 8) === form && (await wavSizeDecided(s, ctx, h.readUInt32LE(4)))) return;
  }
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
