/**
 * The facts of the audio-only outputs the vetted operations write: FLAC (STREAMINFO: rate,
 * channels, total samples), Ogg (each logical stream's codec header, OpusHead or the Vorbis
 * identification header, and the granule position of its last page) and MP3 (the first frame's
 * header and its Xing/Info frame count). The structure walk has proved the framing first; what
 * these readers cannot state (a FLAC without its sample count, an Ogg Theora or chained stream,
 * an MP3 without a Xing/Info header) is left to the sandboxed probe (FactsUnsupported).
 */
import { Source, WINDOW_BYTES } from '../../inspect/structure/source.js';
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import type { ReadAt, StructureReport } from '../../inspect/structure.js';
import type { ProbeResult, ProbeStream } from '../../inspect/probe-result.js';

const MAX_OGG_PAGES = 10_000_000;
const MAX_OGG_STREAMS = 16;

async function exactly(s: Source, pos: number, len: number, what: string): Promise<Buffer> {
  const b = await s.bytes(pos, len);
  if (b.length < len) throw new FactsRefusal(`the file ends inside ${what}`);
  return b;
}

/** FLAC metadata blocks that carry no stream: STREAMINFO, PADDING, SEEKTABLE, VORBIS_COMMENT (without a picture). */
const FLAC_BLOCKS: ReadonlySet<number> = new Set([0, 1, 3, 4]);
const MAX_COMMENT_BYTES = WINDOW_BYTES;

/** Vorbis-comment keys (FLAC, Ogg): a picture in one becomes an attached-picture stream in ffmpeg. */
function commentsCarryPicture(c: Buffer): boolean {
  if (c.length < 8) throw new FactsUnsupported('a comment header too short to read');
  const vendor = c.readUInt32LE(0);
  if (4 + vendor + 4 > c.length) throw new FactsUnsupported('a comment header that does not fit');
  const count = c.readUInt32LE(4 + vendor);
  let pos = 8 + vendor;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > c.length) throw new FactsUnsupported('a comment header that does not fit');
    const len = c.readUInt32LE(pos);
    pos += 4;
    if (pos + len > c.length) throw new FactsUnsupported('a comment that does not fit');
    const eq = c.indexOf(0x3d, pos);
    const key = c.toString('latin1', pos, eq >= 0 && eq < pos + len ? eq : pos + len).toUpperCase();
    if (key === 'METADATA_BLOCK_PICTURE' || key === 'COVERART') return true;
    pos += len;
  }
  return false;
}

/** Every metadata block up to the last: only those that carry no stream. Returns how many there are. */
async function checkFlacBlocks(s: Source, head: Buffer): Promise<number> {
  let last = ((head[4] ?? 0) & 0x80) !== 0;
  let pos = 42;
  let n = 0;
  for (; !last; n++) {
    if (n > 1000) throw new FactsUnsupported('more than 1000 FLAC metadata blocks');
    const h = await exactly(s, pos, 4, 'a FLAC metadata block header');
    last = ((h[0] ?? 0) & 0x80) !== 0;
    const type = (h[0] ?? 0) & 0x7f;
    const len = h.readUIntBE(1, 3);
    if (!FLAC_BLOCKS.has(type)) throw new FactsUnsupported(`a FLAC metadata block of type ${type} (a picture, an application block or a cue sheet)`);
    if (type === 4) {
      if (len > MAX_COMMENT_BYTES) throw new FactsUnsupported(`a FLAC comment block of ${len} bytes`);
      if (commentsCarryPicture(await exactly(s, pos + 4, len, 'a FLAC comment block'))) throw new FactsUnsupported('a picture in the FLAC comments');
    }
    pos += 4 + len;
  }
  return n + 1;
}

/**
 * A header's claim of how much audio there is, against the frames the structure walk counted:
 * understating it would hide from the duration budget how long the output plays (ffprobe takes
 * the header's word). Refused when the frames cannot fit the claim.
 */
function checkFrameCount(claimedFrames: number, walkedFrames: number, what: string): void {
  if (walkedFrames > claimedFrames + 3 || walkedFrames + 3 < claimedFrames) {
    throw new FactsRefusal(`${what} claims ${claimedFrames} frames but the file holds ${walkedFrames}`);
  }
}

export async function flacFacts(readAt: ReadAt, size: number, structure: StructureReport): Promise<ProbeResult> {
  const s = new Source(readAt, size);
  const head = await exactly(s, 0, 42, 'the FLAC STREAMINFO block');
  if (head.toString('latin1', 0, 4) !== 'fLaC') throw new FactsUnsupported('a FLAC stream that does not start with its marker (an ID3 tag first)');
  if ((head[4] ?? 0) & 0x7f || head.readUIntBE(5, 3) !== 34) throw new FactsRefusal('the first FLAC metadata block is not a 34-byte STREAMINFO');
  const rate = head.readUIntBE(18, 3) >>> 4;
  const channels = (((head[20] ?? 0) >> 1) & 0x07) + 1;
  const total = ((head[21] ?? 0) & 0x0f) * 2 ** 32 + head.readUInt32BE(22);
  if (rate === 0) throw new FactsRefusal('a FLAC STREAMINFO with a sample rate of 0');
  if (total === 0) throw new FactsUnsupported('a FLAC stream that does not state its length');
  const blocks = await checkFlacBlocks(s, head);
  const minBlock = head.readUInt16BE(8);
  const maxBlock = head.readUInt16BE(10);
  if (minBlock !== maxBlock || minBlock < 16) throw new FactsUnsupported('a FLAC stream of variable block size');
  checkFrameCount(Math.ceil(total / minBlock), (structure.elements ?? 0) - blocks, 'STREAMINFO');
  const duration = total / rate;
  return probeOf('flac', duration, [stream(0, 'audio', 'flac', { sampleRate: rate, channels, duration })]);
}

interface OggStream {
  readonly serial: number;
  readonly codec: 'opus' | 'vorbis';
  readonly rate: number;
  readonly channels: number;
  readonly preSkip: number;
  granule: number;
  ended: boolean;
  /** Whether its comment header (the second packet) was read. */
  commented: boolean;
}

/** The codec of a logical stream from its first packet (on its BOS page). */
function oggCodec(serial: number, packet: Buffer): OggStream {
  if (packet.length >= 19 && packet.toString('latin1', 0, 8) === 'OpusHead') {
    return { serial, codec: 'opus', rate: 48_000, channels: packet[9] ?? 0, preSkip: packet.readUInt16LE(10), granule: 0, ended: false, commented: false };
  }
  if (packet.length >= 30 && packet[0] === 1 && packet.toString('latin1', 1, 7) === 'vorbis') {
    const rate = packet.readUInt32LE(12);
    if (rate === 0) throw new FactsRefusal('a Vorbis identification header with a sample rate of 0');
    return { serial, codec: 'vorbis', rate, channels: packet[11] ?? 0, preSkip: 0, granule: 0, ended: false, commented: false };
  }
  throw new FactsUnsupported('an Ogg stream that is neither Opus nor Vorbis');
}

export async function oggFacts(readAt: ReadAt, size: number): Promise<ProbeResult> {
  const s = new Source(readAt, size);
  const streams = new Map<number, OggStream>();
  let pos = 0;
  for (let n = 0; pos < size; n++) {
    if (n >= MAX_OGG_PAGES) throw new FactsUnsupported(`more than ${MAX_OGG_PAGES} Ogg pages`);
    const h = await exactly(s, pos, 27, 'an Ogg page header');
    if (h.toString('latin1', 0, 4) !== 'OggS') throw new FactsRefusal(`no Ogg page at byte ${pos}`);
    const flags = h[5] ?? 0;
    const granuleHi = h.readInt32LE(10);
    const granule = granuleHi * 2 ** 32 + h.readUInt32LE(6);
    const serial = h.readUInt32LE(14);
    const segments = h[26] ?? 0;
    const table = await exactly(s, pos + 27, segments, 'an Ogg segment table');
    let body = 0;
    for (const x of table) body += x;
    const bodyAt = pos + 27 + segments;
    if (bodyAt + body > size) throw new FactsRefusal(`the Ogg page at byte ${pos} runs past the end of the file`);
    let st = streams.get(serial);
    if (flags & 0x02) {
      if (st) throw new FactsRefusal(`a second start of Ogg stream ${serial}`);
      if ([...streams.values()].some((x) => x.ended)) throw new FactsUnsupported('a chained Ogg file (a stream starts after another ended)');
      if (streams.size >= MAX_OGG_STREAMS) throw new FactsUnsupported(`more than ${MAX_OGG_STREAMS} Ogg streams`);
      const first = table.indexOf(255) === -1 ? (table[0] ?? 0) : body; // the BOS page holds the first packet whole
      st = oggCodec(serial, await exactly(s, bodyAt, Math.min(first, 64), 'an Ogg codec header'));
      streams.set(serial, st);
    } else if (!st) {
      throw new FactsRefusal(`an Ogg page of stream ${serial} before its start`);
    }
    if (st.ended) throw new FactsRefusal(`an Ogg page of stream ${serial} after its end`);
    if (!(flags & 0x02) && !st.commented) {
      // The comment header, whole on the stream's second page as ffmpeg writes it: a picture in it
      // (METADATA_BLOCK_PICTURE) would be an attached-picture stream.
      const end = table.findIndex((x) => x < 255);
      if (flags & 0x01 || end < 0) throw new FactsUnsupported('an Ogg comment header that spans pages');
      let len = 0;
      for (let i = 0; i <= end; i++) len += table[i] ?? 0;
      if (len > MAX_COMMENT_BYTES) throw new FactsUnsupported(`an Ogg comment header of ${len} bytes`);
      const packet = await exactly(s, bodyAt, len, 'an Ogg comment header');
      const skip = st.codec === 'opus' ? 8 : 7;
      const magic = packet.toString('latin1', 0, skip);
      if (magic !== (st.codec === 'opus' ? 'OpusTags' : '\x03vorbis')) throw new FactsRefusal(`an Ogg ${st.codec} stream whose second packet is not its comment header`);
      if (commentsCarryPicture(packet.subarray(skip))) throw new FactsUnsupported('a picture in the Ogg comments');
      st.commented = true;
    }
    if (granule !== -1 && granuleHi >= 0) st.granule = Math.max(st.granule, granule);
    if (flags & 0x04) st.ended = true;
    pos = bodyAt + body;
  }
  if (streams.size === 0) throw new FactsRefusal('no Ogg stream');
  if ([...streams.values()].some((x) => !x.commented)) throw new FactsUnsupported('an Ogg stream without its comment header');
  const out: ProbeStream[] = [...streams.values()].map((x, i) => {
    const duration = Math.max(0, x.granule - x.preSkip) / x.rate;
    return stream(i, 'audio', x.codec, { sampleRate: x.rate, channels: x.channels, duration });
  });
  return probeOf('ogg', Math.max(...out.map((x) => x.duration ?? 0)), out);
}

const MP3_RATES: Readonly<Record<number, readonly number[]>> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** ID3v2 frames that carry no stream: text frames and comments (a picture, APIC, becomes an attached-picture stream; chapters become chapters). */
const id3FrameCarriesNoStream = (id: string): boolean => /^T[A-Z0-9]{3}$/.test(id) || id === 'COMM';

async function checkId3Frames(s: Source, header: Buffer, end: number): Promise<void> {
  const version = header[3] ?? 0;
  const flags = header[5] ?? 0;
  if (version !== 3 && version !== 4) throw new FactsUnsupported(`an ID3v2.${version} tag`);
  if (flags & 0xc0) throw new FactsUnsupported('an ID3v2 tag with unsynchronisation or an extended header');
  let pos = 10;
  for (let n = 0; pos + 10 <= end; n++) {
    if (n > 10_000) throw new FactsUnsupported('more than 10000 ID3v2 frames');
    const f = await exactly(s, pos, 10, 'an ID3v2 frame header');
    if (f[0] === 0) return; // padding
    const id = f.toString('latin1', 0, 4);
    const size = version === 4 ? ((f[4] ?? 0) & 0x7f) << 21 | ((f[5] ?? 0) & 0x7f) << 14 | ((f[6] ?? 0) & 0x7f) << 7 | ((f[7] ?? 0) & 0x7f) : f.readUInt32BE(4);
    if (!id3FrameCarriesNoStream(id)) throw new FactsUnsupported(`an ID3v2 frame "${id.replace(/[^\x20-\x7e]/g, '?')}"`);
    pos += 10 + size;
  }
}

export async function mp3Facts(readAt: ReadAt, size: number, structure: StructureReport): Promise<ProbeResult> {
  const s = new Source(readAt, size);
  let pos = 0;
  const id3 = await exactly(s, 0, 10, 'the first MP3 frame');
  if (id3.toString('latin1', 0, 3) === 'ID3') {
    pos = 10 + (((id3[6] ?? 0) & 0x7f) << 21 | ((id3[7] ?? 0) & 0x7f) << 14 | ((id3[8] ?? 0) & 0x7f) << 7 | ((id3[9] ?? 0) & 0x7f)) + ((id3[5] ?? 0) & 0x10 ? 10 : 0);
    await checkId3Frames(s, id3, pos);
    if ((await exactly(s, pos, 3, 'the first MP3 frame')).toString('latin1') === 'ID3') throw new FactsUnsupported('a second ID3v2 tag');
  }
  const f = await exactly(s, pos, 4 + 32 + 12, 'the first MP3 frame');
  const b1 = f[1] ?? 0;
  const b2 = f[2] ?? 0;
  const b3 = f[3] ?? 0;
  if (f[0] !== 0xff || (b1 & 0xe0) !== 0xe0) throw new FactsRefusal(`no MP3 frame at byte ${pos}`);
  const version = (b1 >> 3) & 0x03;
  const layer = (b1 >> 1) & 0x03;
  if (version === 1 || layer !== 1) throw new FactsUnsupported('an MPEG audio stream that is not Layer III');
  const rate = MP3_RATES[version]?.[(b2 >> 2) & 0x03];
  if (rate === undefined) throw new FactsRefusal('an MP3 frame with a reserved sample rate');
  const mono = (b3 >> 6) === 3;
  const xingAt = 4 + (version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17);
  const tag = f.toString('latin1', xingAt, xingAt + 4);
  if (tag !== 'Xing' && tag !== 'Info') throw new FactsUnsupported('an MP3 without a Xing/Info header (its length is not stated)');
  if ((f.readUInt32BE(xingAt + 4) & 1) === 0) throw new FactsUnsupported('a Xing/Info header without its frame count');
  const frames = f.readUInt32BE(xingAt + 8);
  // The walk counted every frame and tag: the Xing frame itself, the ID3v2 tag, an ID3v1 or APE tag at the end.
  const walked = (structure.elements ?? 0) - 1 - (pos > 0 ? 1 : 0);
  if (walked > frames + 3 || walked + 3 < frames) throw new FactsRefusal(`the Xing/Info header claims ${frames} frames but the file holds about ${walked}`);
  const duration = (frames * (version === 3 ? 1152 : 576)) / rate;
  return probeOf('mp3', duration, [stream(0, 'audio', 'mp3', { sampleRate: rate, channels: mono ? 1 : 2, duration })]);
}
