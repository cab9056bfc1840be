/**
 * Ogg (ogg, oga, ogv, opus): pages tile the file, and each logical stream is whole: it begins
 * with a BOS page (all BOS pages first), its pages are numbered without gaps, and it ends with
 * an EOS page. Decided explicitly:
 *   - a stream without its EOS page is truncated;
 *   - a new stream after every stream has ended is a chained Ogg file: a second container
 *     appended after the first, refused like any other (ffprobe reports only the first chain);
 *   - at most MAX_STREAMS logical streams are tracked (the walk holds one entry per stream):
 *     more is a refusal that names the limit.
 */
import type { WalkContext } from './report.js';
import type { Source } from './source.js';

export const MAX_OGG_STREAMS = 256;

const OGGS = 0x4f676753; // "OggS"
const CONTINUED = 1;
const BOS = 2;
const EOS = 4;

interface LogicalStream {
  next: number;
  ended: boolean;
}

export async function walkOgg(s: Source, ctx: WalkContext): Promise<void> {
  const streams = new Map<number, LogicalStream>();
  let headers = true;
  let pos = 0;
  for (let n = 0; pos < s.size; n++) {
    if (!s.has(pos, 27 + 255)) await s.fill(pos, 27 + 255);
    // The page header straight from the window (no allocation per page).
    const h = s.window;
    const o = pos - s.windowAt;
    const avail = Math.min(27 + 255, s.size - pos);
    if (avail < 4 || h.readUInt32BE(o) !== OGGS) {
      if (pos === 0) ctx.fail('malformed', 0, 'the file does not start with an Ogg page');
      ctx.trailing(pos, 'last Ogg page');
    }
    if (avail < 27) ctx.beyond(`Ogg page #${n}`, pos, 27, s.size, undefined);
    const flags = h[o + 5] ?? 0;
    if (h[o + 4] !== 0 || (flags & ~7) !== 0) ctx.fail('malformed', pos, `Ogg page #${n} at byte ${pos} has version ${h[o + 4]} and flags 0x${flags.toString(16)}; only version 0 and the three defined flags exist`);
    const segments = h[o + 26] ?? 0;
    if (avail < 27 + segments) ctx.beyond(`Ogg page #${n}`, pos, 27 + segments, s.size, undefined);
    let body = 0;
    for (let i = 0; i < segments; i++) body += h[o + 27 + i] ?? 0;
    const total = 27 + segments + body;
    if (pos + total > s.size) ctx.beyond(`Ogg page #${n}`, pos, total, s.size, undefined);
    const serial = h.readUInt32LE(o + 14);
    const seq = h.readUInt32LE(o + 18);
    const stream = streams.get(serial);
    const at = `Ogg page #${n} at byte ${pos} (stream ${serial}, page ${seq})`;
    if (flags & BOS) {
      if (stream) ctx.fail('malformed', pos, `${at} begins stream ${serial} a second time`);
      if (!headers) {
        if ([...streams.values()].every((x) => x.ended)) ctx.fail('trailing-data', pos, `${at} begins a new Ogg stream after every stream has ended: a chained second file appended after the first`);
        ctx.fail('malformed', pos, `${at} begins a new logical stream in the middle of the others`);
      }
      if (streams.size >= MAX_OGG_STREAMS) ctx.fail('unverified', pos, `${at} begins logical stream number ${streams.size + 1}, more than the ${MAX_OGG_STREAMS} the structure walk tracks`);
      if (flags & CONTINUED) ctx.fail('malformed', pos, `${at} begins a stream with a continued packet`);
      streams.set(serial, { next: seq + 1, ended: (flags & EOS) !== 0 });
    } else {
      headers = false;
      if (!stream) ctx.fail('malformed', pos, `${at} belongs to no stream that began with a BOS page`);
      if (stream.ended) ctx.fail('malformed', pos, `${at} comes after the end of its stream`);
      if (seq !== stream.next) ctx.fail('malformed', pos, `${at} should be page ${stream.next} of its stream: pages are missing or were spliced in`);
      stream.next = seq + 1;
      if (flags & EOS) stream.ended = true;
    }
    ctx.elements++;
    pos += total;
  }
  for (const [serial, st] of streams) {
    if (!st.ended) ctx.fail('truncated', s.size, `Ogg stream ${serial} has no end-of-stream page (the file is cut short)`);
  }
}
