/**
 * Hostile inputs, generated at test time: playlists and pseudo-protocol references aimed at a
 * planted canary secret and at a local TCP listener, polyglots, disguised files, resource bombs
 * declared in headers, malformed files and special files. Nothing is downloaded; every sample
 * is written byte by byte or made with ffmpeg's lavfi sources, then patched.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile, truncate as truncateFile, open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { ffmpeg } from './media.js';

// --- the canary and the listener ----------------------------------------------------------------

export interface Canary {
  readonly path: string;
  /** A random token that must never appear in any output, log, stdout or stderr. */
  readonly token: string;
}

export async function plantCanary(dir: string): Promise<Canary> {
  const token = `ZT-CANARY-${randomBytes(16).toString('hex')}`;
  const file = path.join(dir, 'secret-canary.txt');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { path: file, token };
}

export interface Listener {
  readonly port: number;
  /** Connections accepted so far (must stay 0). */
  connections(): number;
  close(): Promise<void>;
}

/** A real TCP listener on 127.0.0.1 that counts every connection it sees. */
export function startListener(): Promise<Listener> {
  let count = 0;
  const server = net.createServer((sock) => {
    count++;
    sock.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('listener has no port'));
      resolve({
        port: addr.port,
        connections: () => count,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

// --- byte helpers -------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A structurally valid PNG whose IHDR declares width × height (with a correct CRC). */
export function pngWithDimensions(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  // compression, filter, interlace: 0
  const idat = deflateSync(Buffer.alloc(64));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Find an ISO-BMFF box by its four-character type; returns the offset of its size field. */
export function findBox(buf: Buffer, type: string): number {
  const i = buf.indexOf(Buffer.from(type, 'latin1'));
  if (i < 4) throw new Error(`no ${type} box`);
  return i - 4;
}

export function hlsPlaylist(canary: string, port: number): string {
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:10',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXTINF:1.0,',
    `file://${canary}`,
    '#EXTINF:1.0,',
    `http://127.0.0.1:${port}/segment.ts`,
    '#EXTINF:1.0,',
    `concat:http://127.0.0.1:${port}/header.y4m|file://${canary}`,
    '#EXTINF:1.0,',
    `subfile:,,start,0,end,0,,:${canary}`,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}

function execOk(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 10_000, killSignal: 'SIGKILL', env: { PATH: '/usr/bin:/bin' } }, (err, _o, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr}`));
      else resolve();
    });
  });
}

// --- the catalogue ------------------------------------------------------------------------------

export type ThreatClass =
  | 'playlist-ssrf'
  | 'pseudo-protocol'
  | 'smuggled-playlist'
  | 'polyglot'
  | 'format-confusion'
  | 'resource-bomb'
  | 'malformed'
  | 'special-file';

export interface HostileCase {
  readonly id: string;
  readonly threat: ThreatClass;
  /** What makes it hostile, for the report. */
  readonly what: string;
  /** Rule ids of which at least one must be among the violations. */
  readonly expectRules: readonly string[];
  /**
   * Policy to use ("advanced" = the bundled default; "deep" = advanced with deepCheck on;
   * "judge" = advanced judging the streams a job does not read, as optimal does).
   */
  readonly policy?: 'advanced' | 'deep' | 'judge';
  /** Build the sample; returns the path given to zt-ffmpeg. */
  build(ctx: BuildContext): Promise<string>;
}

export interface BuildContext {
  readonly dir: string;
  readonly canary: Canary;
  readonly port: number;
}

const V = (size: string, d: number, rate = 25): string[] => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${d}`];
const A = (d: number, rate = 48000): string[] => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${d}`];
const H264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

async function mp4(dir: string, name: string, extra: readonly string[] = [], seconds = 1): Promise<string> {
  const out = path.join(dir, name);
  await ffmpeg([...V('160x120', seconds), ...A(seconds), ...H264, '-c:a', 'aac', '-shortest', ...extra, out]);
  return out;
}

/** A one-keyframe H.264 mp4 whose mdat is overwritten from `at` (a fraction of mdat) for 6000 bytes. */
async function corruptMdat(dir: string, name: string, at: number): Promise<string> {
  const out = path.join(dir, name);
  await ffmpeg([...V('320x240', 1), ...H264, '-g', '1000', '-movflags', '+faststart', out]);
  const b = await readFile(out);
  const mdat = findBox(b, 'mdat');
  const start = mdat + 8 + Math.floor((b.length - mdat - 8) * at);
  for (let i = start; i < Math.min(b.length - 16, start + 6000); i++) b[i] = (i * 131) & 0xff;
  await writeFile(out, b);
  return out;
}

async function text(dir: string, name: string, body: string): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, body);
  return f;
}

export const HOSTILE_CASES: readonly HostileCase[] = [
  // --- local-file read and SSRF through playlists ----------------------------------------------
  {
    id: 'hls-plain',
    threat: 'playlist-ssrf',
    what: 'an HLS playlist (.m3u8) whose segments are file:// the canary, http://127.0.0.1, concat: and subfile:',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'evil.m3u8', hlsPlaylist(canary.path, port)),
  },
  {
    id: 'hls-renamed-mp4',
    threat: 'playlist-ssrf',
    what: 'the same playlist renamed .mp4, so only content probing could find it',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'evil-playlist.mp4', hlsPlaylist(canary.path, port)),
  },
  {
    id: 'hls-renamed-avi',
    threat: 'playlist-ssrf',
    what: 'the playlist renamed .avi (the extension of the classic ffmpeg HLS local-file-read write-ups)',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'evil-playlist.avi', hlsPlaylist(canary.path, port)),
  },
  {
    id: 'hls-behind-mp4-magic',
    threat: 'smuggled-playlist',
    what: 'an ftyp box (mp4 magic bytes) followed by an HLS playlist',
    expectRules: ['input.structure', 'input.embedded-playlist', 'input.probe'],
    build: async ({ dir, canary, port }) => {
      const ftyp = Buffer.from('0000001c667479706973366d0000020069736f6d69736f326d703431', 'hex');
      const f = path.join(dir, 'ftyp-then-hls.mp4');
      await writeFile(f, Buffer.concat([ftyp, Buffer.from(hlsPlaylist(canary.path, port))]));
      return f;
    },
  },
  {
    id: 'hls-in-mp4-metadata',
    threat: 'smuggled-playlist',
    what: 'a real H.264/AAC mp4 whose metadata comment holds an HLS playlist',
    expectRules: ['input.embedded-playlist'],
    build: async ({ dir, canary, port }) => {
      const meta = path.join(dir, 'meta-hls.txt');
      await writeFile(meta, `;FFMETADATA1\ncomment=${hlsPlaylist(canary.path, port).replace(/\n/g, '\\\n')}\n`);
      const out = path.join(dir, 'hls-in-metadata.mp4');
      await ffmpeg([...V('160x120', 1), ...A(1), '-f', 'ffmetadata', '-i', meta, '-map', '0', '-map', '1', '-map_metadata', '2', ...H264, '-c:a', 'aac', '-shortest', out]);
      return out;
    },
  },
  {
    id: 'hls-appended-to-mp4',
    threat: 'smuggled-playlist',
    what: 'a real mp4 with an HLS playlist appended after its last box',
    expectRules: ['input.structure', 'input.embedded-playlist'],
    build: async ({ dir, canary, port }) => {
      const f = await mp4(dir, 'hls-appended.mp4');
      await writeFile(f, Buffer.concat([await readFile(f), Buffer.from(hlsPlaylist(canary.path, port))]));
      return f;
    },
  },
  {
    id: 'hls-in-avi',
    threat: 'smuggled-playlist',
    what: 'an AVI whose INFO comment and a GAB2-style JUNK chunk carry an HLS playlist (the HLS-inside-AVI trick)',
    expectRules: ['input.embedded-playlist'],
    build: async ({ dir, canary, port }) => {
      const out = path.join(dir, 'hls-inside.avi');
      await ffmpeg([...V('160x120', 1), '-c:v', 'mpeg4', '-metadata', `comment=${hlsPlaylist(canary.path, port)}`, out]);
      // Also place a GAB2 subtitle-like payload holding the playlist inside a JUNK chunk of the RIFF.
      const avi = await readFile(out);
      const payload = Buffer.concat([Buffer.from('GAB2\0', 'latin1'), Buffer.from([2, 0]), Buffer.from(hlsPlaylist(canary.path, port))]);
      const pad = payload.length % 2;
      const junk = Buffer.alloc(8 + payload.length + pad);
      junk.write('JUNK', 0, 'latin1');
      junk.writeUInt32LE(payload.length, 4);
      payload.copy(junk, 8);
      const riff = Buffer.concat([avi, junk]);
      riff.writeUInt32LE(riff.length - 8, 4);
      await writeFile(out, riff);
      return out;
    },
  },
  {
    id: 'hls-in-mkv-attachment',
    threat: 'smuggled-playlist',
    what: 'a Matroska file carrying the playlist as an attached file',
    expectRules: ['input.allowAttachments', 'input.embedded-playlist'],
    build: async ({ dir, canary, port }) => {
      const pl = await text(dir, 'attached.m3u8', hlsPlaylist(canary.path, port));
      const out = path.join(dir, 'hls-attached.mkv');
      await ffmpeg([...V('160x120', 1), ...H264, '-attach', pl, '-metadata:s:t', 'mimetype=application/vnd.apple.mpegurl', out]);
      return out;
    },
  },
  // --- the concat demuxer and pseudo-protocols ---------------------------------------------------
  {
    id: 'ffconcat-script',
    threat: 'pseudo-protocol',
    what: 'an ffconcat script naming the canary and the listener, disguised as .mp4',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'list.mp4', `ffconcat version 1.0\nfile '${canary.path}'\nfile 'http://127.0.0.1:${port}/a.mp4'\n`),
  },
  {
    id: 'concat-script-plain',
    threat: 'pseudo-protocol',
    what: 'a concat demuxer script without header, as .txt',
    expectRules: ['input.magic'],
    build: ({ dir, canary }) => text(dir, 'list.txt', `file '${canary.path}'\nfile 'file:${canary.path}'\n`),
  },
  {
    id: 'concat-protocol-text',
    threat: 'pseudo-protocol',
    what: 'a file whose content is a concat: URL joining the canary',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'concat-url.mp4', `concat:${canary.path}|http://127.0.0.1:${port}/b.ts\n`),
  },
  {
    id: 'subfile-protocol-text',
    threat: 'pseudo-protocol',
    what: 'a file whose content is a subfile: URL into the canary',
    expectRules: ['input.magic'],
    build: ({ dir, canary }) => text(dir, 'subfile-url.mkv', `subfile:,,start,0,end,0,,:${canary.path}\n`),
  },
  {
    id: 'file-protocol-text',
    threat: 'pseudo-protocol',
    what: 'a file whose content is a file: URL of the canary',
    expectRules: ['input.magic'],
    build: ({ dir, canary }) => text(dir, 'file-url.wav', `file:${canary.path}\n`),
  },
  {
    id: 'data-protocol-text',
    threat: 'pseudo-protocol',
    what: 'a file whose content is a data: URL holding a playlist',
    expectRules: ['input.magic'],
    build: ({ dir, canary, port }) => text(dir, 'data-url.mp3', `data:application/vnd.apple.mpegurl;base64,${Buffer.from(hlsPlaylist(canary.path, port)).toString('base64')}\n`),
  },
  // --- polyglots and format confusion ------------------------------------------------------------
  {
    id: 'polyglot-png-mp4',
    threat: 'polyglot',
    what: 'a valid PNG followed by a complete mp4',
    expectRules: ['input.structure'],
    build: async ({ dir }) => {
      const m = await mp4(dir, 'inner.mp4');
      const png = path.join(dir, 'poly.png');
      await ffmpeg([...V('64x64', 1), '-frames:v', '1', '-update', '1', png]);
      await writeFile(png, Buffer.concat([await readFile(png), await readFile(m)]));
      return png;
    },
  },
  {
    id: 'polyglot-jpeg-mp4',
    threat: 'polyglot',
    what: 'a JPEG with an mp4 appended after its end-of-image marker (the motion-photo shape)',
    expectRules: ['input.structure'],
    build: async ({ dir }) => {
      const m = await mp4(dir, 'inner2.mp4');
      const jpg = path.join(dir, 'poly.jpg');
      await ffmpeg([...V('64x64', 1), '-frames:v', '1', '-update', '1', jpg]);
      await writeFile(jpg, Buffer.concat([await readFile(jpg), await readFile(m)]));
      return jpg;
    },
  },
  {
    id: 'wav-named-mp4',
    threat: 'format-confusion',
    what: 'a WAV file with an .mp4 extension',
    expectRules: ['input.magic-extension'],
    build: async ({ dir }) => {
      const out = path.join(dir, 'really-wav.mp4');
      await ffmpeg([...A(1), '-c:a', 'pcm_s16le', '-f', 'wav', out]);
      return out;
    },
  },
  {
    id: 'magic-demuxer-disagree',
    threat: 'format-confusion',
    what: 'one ADTS (AAC) frame in front of an MP3 stream, named .aac: the magic says aac, the demuxer picks mp3',
    expectRules: ['input.magic-format'],
    build: async ({ dir }) => {
      const aac = path.join(dir, 'one.aac');
      await ffmpeg([...A(0.1), '-c:a', 'aac', '-f', 'adts', aac]);
      const mp3 = path.join(dir, 'body.mp3');
      await ffmpeg([...A(1), '-c:a', 'libmp3lame', '-write_xing', '0', '-id3v2_version', '0', mp3]);
      const a = await readFile(aac);
      const frameLen = ((a[3]! & 0x03) << 11) | (a[4]! << 3) | (a[5]! >> 5);
      const out = path.join(dir, 'confused.aac');
      await writeFile(out, Buffer.concat([a.subarray(0, frameLen), await readFile(mp3)]));
      return out;
    },
  },
  // --- decompression and resource bombs ----------------------------------------------------------
  {
    id: 'png-huge-dimensions',
    threat: 'resource-bomb',
    what: 'a PNG whose IHDR declares 100000 × 100000 pixels (valid CRC, a few bytes of data)',
    expectRules: ['input.maxWidth', 'input.maxHeight', 'input.maxPixels'],
    build: async ({ dir }) => {
      const f = path.join(dir, 'bomb.png');
      await writeFile(f, pngWithDimensions(100_000, 100_000));
      return f;
    },
  },
  {
    id: 'jpeg-huge-dimensions',
    threat: 'resource-bomb',
    what: 'a JPEG whose SOF header is patched to declare 65000 × 65000 pixels',
    expectRules: ['input.maxWidth', 'input.maxHeight', 'input.maxPixels'],
    build: async ({ dir }) => {
      const f = path.join(dir, 'bomb.jpg');
      await ffmpeg([...V('64x64', 1), '-frames:v', '1', '-update', '1', f]);
      const b = await readFile(f);
      let sof = -1;
      for (let i = 2; i + 9 < b.length; i++) if (b[i] === 0xff && b[i + 1] === 0xc0) { sof = i; break; }
      if (sof < 0) throw new Error('no SOF0');
      b.writeUInt16BE(65000, sof + 5);
      b.writeUInt16BE(65000, sof + 7);
      await writeFile(f, b);
      return f;
    },
  },
  {
    id: 'mp4-absurd-duration',
    threat: 'resource-bomb',
    what: 'an mp4 whose mvhd claims ~136 years (timescale 1, duration 2^32-16)',
    expectRules: ['input.maxDurationSeconds'],
    build: async ({ dir }) => {
      const f = await mp4(dir, 'forever.mp4');
      const b = await readFile(f);
      const mvhd = findBox(b, 'mvhd');
      if (b[mvhd + 8] !== 0) throw new Error('expected a version 0 mvhd');
      b.writeUInt32BE(1, mvhd + 20); // timescale
      b.writeUInt32BE(0xfffffff0, mvhd + 24); // duration
      await writeFile(f, b);
      return f;
    },
  },
  {
    id: 'wav-absurd-duration',
    threat: 'resource-bomb',
    what: 'a WAV whose RIFF and data chunk sizes claim 4 GiB of samples (13 hours) for 1 s of audio',
    expectRules: ['input.maxDurationSeconds', 'input.structure'],
    build: async ({ dir }) => {
      const f = path.join(dir, 'forever.wav');
      await ffmpeg([...A(1, 8000), '-c:a', 'pcm_u8', f]);
      const b = await readFile(f);
      const data = b.indexOf(Buffer.from('data', 'latin1'));
      b.writeUInt32LE(0xfffffff0, 4);
      b.writeUInt32LE(0xffffffc0, data + 4);
      await writeFile(f, b);
      return f;
    },
  },
  {
    id: 'mp4-absurd-bitrate',
    threat: 'resource-bomb',
    what: 'an mp4 whose mvhd claims the whole file lasts one microsecond (an absurd bitrate)',
    expectRules: ['input.maxBitrate'],
    build: async ({ dir }) => {
      const f = await mp4(dir, 'dense.mp4');
      const b = await readFile(f);
      const mvhd = findBox(b, 'mvhd');
      b.writeUInt32BE(1_000_000, mvhd + 20);
      b.writeUInt32BE(1, mvhd + 24);
      await writeFile(f, b);
      return f;
    },
  },
  {
    id: 'mkv-300-streams',
    threat: 'resource-bomb',
    what: 'a Matroska file with 300 audio streams',
    expectRules: ['input.maxStreams'],
    build: async ({ dir }) => {
      const out = path.join(dir, 'many-streams.mkv');
      const maps: string[] = [];
      for (let i = 0; i < 300; i++) maps.push('-map', '0:a');
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=sample_rate=8000:duration=0.1', ...maps, '-c:a', 'pcm_s16le', out]);
      return out;
    },
  },
  {
    id: 'mkv-2mb-metadata',
    threat: 'resource-bomb',
    what: 'a Matroska file with a 2 MB metadata comment',
    expectRules: ['input.maxMetadataBytes'],
    build: async ({ dir }) => {
      const meta = path.join(dir, 'big-meta.txt');
      await writeFile(meta, `;FFMETADATA1\ncomment=${'A'.repeat(2 * 1024 * 1024)}\n`);
      const out = path.join(dir, 'big-meta.mkv');
      await ffmpeg([...A(0.2), '-f', 'ffmetadata', '-i', meta, '-map', '0', '-map_metadata', '1', '-c:a', 'flac', out]);
      return out;
    },
  },
  {
    id: 'mkv-many-metadata-entries',
    threat: 'resource-bomb',
    what: 'a Matroska file with 600 metadata entries',
    expectRules: ['input.maxMetadataEntries'],
    build: async ({ dir }) => {
      const meta = path.join(dir, 'many-meta.txt');
      const lines = [';FFMETADATA1'];
      for (let i = 0; i < 600; i++) lines.push(`key${i}=value ${i}`);
      await writeFile(meta, lines.join('\n') + '\n');
      const out = path.join(dir, 'many-meta.mkv');
      await ffmpeg([...A(0.2), '-f', 'ffmetadata', '-i', meta, '-map', '0', '-map_metadata', '1', '-c:a', 'flac', out]);
      return out;
    },
  },
  {
    id: 'high-frame-rate',
    threat: 'resource-bomb',
    what: 'an mp4 at 1000 frames per second',
    expectRules: ['input.maxFrameRate'],
    build: async ({ dir }) => {
      const out = path.join(dir, 'fast.mp4');
      await ffmpeg([...V('64x64', 0.3, 1000), ...H264, out]);
      return out;
    },
  },
  {
    id: 'wav-384khz-16ch',
    threat: 'resource-bomb',
    what: 'a WAV at 384 kHz with 16 channels',
    expectRules: ['input.maxSampleRate', 'input.maxChannels'],
    build: async ({ dir }) => {
      const out = path.join(dir, 'wide.wav');
      await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=384000:cl=hexadecagonal', '-t', '0.05', '-c:a', 'pcm_s16le', out]);
      return out;
    },
  },
  {
    id: 'mov-data-stream',
    threat: 'resource-bomb',
    what: 'a QuickTime file with a timecode data stream, under a policy that judges streams the job ignores (the bundled advanced ignores it: it is never read)',
    expectRules: ['input.allowDataStreams'],
    policy: 'judge',
    build: async ({ dir }) => {
      const out = path.join(dir, 'timecode.mov');
      await ffmpeg([...V('160x120', 0.5), ...H264, '-timecode', '01:00:00:00', out]);
      return out;
    },
  },
  {
    id: 'mkv-subtitle-and-codec',
    threat: 'format-confusion',
    what: 'a Matroska file with a subtitle stream and a video codec (FFV1) the policy does not list',
    expectRules: ['input.codecs.subtitle', 'input.codecs.video'],
    build: async ({ dir }) => {
      const srt = await text(dir, 'subs.srt', '1\n00:00:00,000 --> 00:00:00,500\nhello\n\n');
      const out = path.join(dir, 'subs.mkv');
      await ffmpeg([...V('64x64', 0.5), '-i', srt, '-map', '0', '-map', '1', '-c:v', 'ffv1', '-c:s', 'srt', out]);
      return out;
    },
  },
  // --- malformed, truncated and empty ------------------------------------------------------------
  {
    id: 'mp4-truncated-half',
    threat: 'malformed',
    what: 'a fast-start mp4 (moov first) cut in half: the header parses, the media data is gone',
    expectRules: ['input.structure'],
    build: async ({ dir }) => {
      const f = await mp4(dir, 'half.mp4', ['-movflags', '+faststart']);
      const b = await readFile(f);
      await writeFile(f, b.subarray(0, Math.floor(b.length / 2)));
      return f;
    },
  },
  {
    id: 'mp4-truncated-no-moov',
    threat: 'malformed',
    what: 'an mp4 (moov last) cut in half: no index at all',
    expectRules: ['input.probe', 'input.structure'],
    build: async ({ dir }) => {
      const f = await mp4(dir, 'half-nomoov.mp4');
      const b = await readFile(f);
      await writeFile(f, b.subarray(0, Math.floor(b.length / 2)));
      return f;
    },
  },
  {
    id: 'mkv-truncated',
    threat: 'malformed',
    what: 'a Matroska file cut at 60 %',
    expectRules: ['input.structure'],
    build: async ({ dir }) => {
      const out = path.join(dir, 'cut.mkv');
      await ffmpeg([...V('160x120', 1), ...A(1), ...H264, '-c:a', 'libopus', '-shortest', out]);
      const b = await readFile(out);
      await writeFile(out, b.subarray(0, Math.floor(b.length * 0.6)));
      return out;
    },
  },
  {
    id: 'mp4-corrupted-header',
    threat: 'malformed',
    what: 'an mp4 whose moov box is overwritten with random bytes',
    expectRules: ['input.probe', 'input.probe.errors', 'input.streams', 'input.structure'],
    build: async ({ dir }) => {
      const f = await mp4(dir, 'bad-header.mp4', ['-movflags', '+faststart']);
      const b = await readFile(f);
      const moov = findBox(b, 'moov');
      for (let i = moov + 8; i < moov + 608; i++) b[i] = (i * 167 + 13) & 0xff;
      await writeFile(f, b);
      return f;
    },
  },
  {
    id: 'mp4-corrupted-early',
    threat: 'malformed',
    what: 'an mp4 whose first coded pictures are overwritten (headers intact): the probe\'s own decoders complain',
    expectRules: ['input.probe.errors'],
    build: async ({ dir }) => corruptMdat(dir, 'bad-early.mp4', 0.05),
  },
  {
    id: 'mp4-corrupted-media',
    threat: 'malformed',
    what: 'an mp4 whose coded video late in mdat is overwritten: only decoding everything (the deep check) shows it',
    expectRules: ['input.deepCheck'],
    policy: 'deep',
    build: async ({ dir }) => corruptMdat(dir, 'bad-late.mp4', 0.7),
  },
  {
    id: 'empty-file',
    threat: 'malformed',
    what: 'an empty file named .mp4',
    expectRules: ['input.empty'],
    build: ({ dir }) => text(dir, 'empty.mp4', ''),
  },
  // --- special files as input --------------------------------------------------------------------
  {
    id: 'fifo',
    threat: 'special-file',
    what: 'a FIFO named .mp4 (a blocking open would hang the job)',
    expectRules: ['input.regular-file'],
    build: async ({ dir }) => {
      const f = path.join(dir, 'pipe.mp4');
      await execOk('/usr/bin/mkfifo', [f]);
      return f;
    },
  },
  {
    id: 'device-dev-zero',
    threat: 'special-file',
    what: '/dev/zero given directly',
    expectRules: ['input.regular-file'],
    build: () => Promise.resolve('/dev/zero'),
  },
  {
    id: 'device-node',
    threat: 'special-file',
    what: 'a character device node (1,5 = zero) made with mknod, named .wav, or a symlink to /dev/urandom where mknod is not permitted',
    expectRules: ['input.regular-file'],
    build: async ({ dir }) => {
      const f = path.join(dir, 'device.wav');
      try {
        await execOk('/usr/bin/mknod', [f, 'c', '1', '5']);
      } catch {
        await symlink('/dev/urandom', f);
      }
      return f;
    },
  },
  {
    id: 'directory',
    threat: 'special-file',
    what: 'a directory named .mp4',
    expectRules: ['input.regular-file'],
    build: async ({ dir }) => {
      const d = path.join(dir, 'folder.mp4');
      await mkdir(d);
      return d;
    },
  },
  {
    id: 'symlink-to-canary',
    threat: 'special-file',
    what: 'a symbolic link named .mp4 pointing at the canary secret',
    expectRules: ['input.regular-file'],
    build: async ({ dir, canary }) => {
      const l = path.join(dir, 'link.mp4');
      await symlink(canary.path, l);
      return l;
    },
  },
  {
    id: 'symlink-to-media',
    threat: 'special-file',
    what: 'a symbolic link to a perfectly good mp4 (links are refused, not followed)',
    expectRules: ['input.regular-file'],
    build: async ({ dir }) => {
      const m = await mp4(dir, 'target.mp4');
      const l = path.join(dir, 'link-to-media.mp4');
      await symlink(m, l);
      return l;
    },
  },
];

/** Pseudo-protocol references given directly as the input argument (no such file exists). */
export function protocolArguments(canary: Canary, port: number, media: string): ReadonlyArray<{ id: string; arg: string }> {
  return [
    { id: 'arg-concat', arg: `concat:${media}|${canary.path}` },
    { id: 'arg-subfile', arg: `subfile:,,start,0,end,0,,:${canary.path}` },
    { id: 'arg-file', arg: `file:${canary.path}` },
    { id: 'arg-data', arg: `data:video/mp4;base64,${Buffer.from('not media').toString('base64')}` },
    { id: 'arg-http', arg: `http://127.0.0.1:${port}/x.mp4` },
  ];
}

/** Cut a file to `bytes` (exported for tests that make their own variants). */
export async function truncateTo(file: string, bytes: number): Promise<void> {
  await truncateFile(file, bytes);
}

/** Overwrite `count` bytes at `offset` (exported for tests that make their own variants). */
export async function overwrite(file: string, offset: number, bytes: Buffer): Promise<void> {
  const h = await open(file, 'r+');
  try {
    await h.write(bytes, 0, bytes.length, offset);
  } finally {
    await h.close();
  }
}
