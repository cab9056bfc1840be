/**
 * Benign media made by the tools real people's files come from, not by ffmpeg: GStreamer's
 * muxers (qtmux, mp4mux, matroskamux, webmmux, avimux, oggmux, wavenc, aiffmux, mpegpsmux,
 * mpegtsmux, mplex), mkvmerge, lame, sox, flac, opusenc, oggenc, exiftool and AtomicParsley
 * edits, ImageMagick and cwebp. Every sample is generated at test time (nothing is downloaded)
 * from the Debian packages setup.sh installs, small (about a second, 160 × 120), and shaped like
 * what phones, cameras, recorders and editors write: a rotation matrix, a timecode track, two
 * audio tracks, cover art, chapters, subtitles and a font, variable frame rate, odd sizes,
 * 10-bit, HEVC and AV1 in mp4, fragmented mp4, streaming WAV headers.
 *
 * The generator is shared: the real-world acceptance test runs every sample through `check` and
 * `run`, and the structure walkers' own tests can reuse the same bytes.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type SampleKind = 'video' | 'audio' | 'image';

export interface RealWorldSample {
  /** The file name (its extension is the one users give such files). */
  readonly id: string;
  /** The third-party writer. */
  readonly tool: string;
  /** What it is shaped like. */
  readonly what: string;
  /** video → transcode to mp4; audio → transcode to mp3; image → thumbnail to jpg. */
  readonly kind: SampleKind;
  /** Commands it needs (all must be on PATH). */
  readonly needs: readonly string[];
  build(ctx: CorpusContext): Promise<void>;
}

export interface CorpusContext {
  readonly dir: string;
  /** Absolute path of a file in the corpus directory. */
  at(name: string): string;
  /** A shared input, built once (src.wav, cover.jpg, base.mp4, ...). */
  input(name: SharedInput): Promise<string>;
}

const ENV = { PATH: '/usr/bin:/bin', HOME: '/nonexistent', LC_ALL: 'C.UTF-8' };
const TIMEOUT_MS = 60_000;

/**
 * Run a tool to completion (no shell, clean environment, a timeout). `stdoutTo`: its stdout goes
 * through a real pipe into that file, so a writer sees an unseekable output (and leaves the
 * placeholder sizes it writes when it cannot seek back).
 */
export function tool(file: string, args: readonly string[], opts: { cwd?: string; stdoutTo?: string; env?: Record<string, string> } = {}): Promise<void> {
  const env = { ...ENV, ...opts.env };
  if (opts.stdoutTo === undefined) {
    return new Promise((resolve, reject) => {
      execFile(file, [...args], { timeout: TIMEOUT_MS, killSignal: 'SIGKILL', env, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 }, (err, _o, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${String(stderr).slice(-2000)}`));
        else resolve();
      });
    });
  }
  const into = opts.stdoutTo;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, [...args], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(into);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdout.pipe(out);
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end(() => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} failed (${signal ?? code}): ${stderr}`))));
    });
  });
}

/**
 * gst-launch-1.0 with a pipeline description (tokens separated by spaces, none containing one).
 * Its plugin registry goes in the corpus directory: by default GStreamer writes one under $HOME,
 * and HOME=/nonexistent then made that directory on the machine (as root).
 */
function gst(ctx: CorpusContext, pipeline: string): Promise<void> {
  return tool('/usr/bin/gst-launch-1.0', ['-q', ...pipeline.trim().split(/\s+/)], { cwd: ctx.dir, env: { GST_REGISTRY: path.join(ctx.dir, '_gst-registry.bin') } });
}

// --- GStreamer building blocks ------------------------------------------------------------------

const V = (o: { w?: number; h?: number; fps?: number; n?: number; format?: string } = {}): string =>
  `videotestsrc num-buffers=${o.n ?? 10} ! video/x-raw,width=${o.w ?? 160},height=${o.h ?? 120},framerate=${o.fps ?? 10}/1,format=${o.format ?? 'I420'}`;
const A = (o: { rate?: number; ch?: number; wave?: number } = {}): string => {
  const rate = o.rate ?? 48000;
  return `audiotestsrc num-buffers=10 samplesperbuffer=${rate / 10} wave=${o.wave ?? 0} ! audio/x-raw,rate=${rate},channels=${o.ch ?? 2} ! audioconvert`;
};
const H264 = 'x264enc speed-preset=ultrafast ! h264parse';
const AAC = 'voaacenc ! aacparse';
const MP3 = 'lamemp3enc ! mpegaudioparse';

export type SharedInput = 'src.wav' | 'cover.jpg' | 'base.mp4' | 'base.mov' | 'two-audio.mp4' | 'vp9.webm' | 'subs.srt' | 'subs.ass' | 'chapters.txt' | 'vfr.txt' | 'audio.m4a' | 'gradient.png';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const SHARED: Readonly<Record<SharedInput, (ctx: CorpusContext, out: string) => Promise<void>>> = {
  'src.wav': (_c, out) => tool('/usr/bin/sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', out, 'synth', '1', 'sine', '440']),
  'cover.jpg': (_c, out) => tool('/usr/bin/convert', ['-size', '96x96', 'gradient:orange-purple', '-quality', '85', out]),
  'gradient.png': (_c, out) => tool('/usr/bin/convert', ['-size', '161x97', 'gradient:blue-yellow', out]),
  'base.mp4': (c, out) => gst(c, `${V()} ! ${H264} ! mp4mux name=m ! filesink location=${out} ${A()} ! ${AAC} ! m.`),
  'base.mov': (c, out) => gst(c, `${V()} ! ${H264} ! qtmux name=m ! filesink location=${out} ${A()} ! ${AAC} ! m.`),
  'two-audio.mp4': (c, out) => gst(c, `${V()} ! ${H264} ! mp4mux name=m ! filesink location=${out} ${A()} ! ${AAC} ! m. ${A({ ch: 1, wave: 2 })} ! ${AAC} ! m.`),
  'vp9.webm': (c, out) => gst(c, `${V()} ! vp9enc deadline=1 cpu-used=8 ! webmmux name=m ! filesink location=${out} ${A()} ! opusenc ! m.`),
  'audio.m4a': (c, out) => gst(c, `${A({ rate: 44100 })} ! ${AAC} ! mp4mux ! filesink location=${out}`),
  'subs.srt': (_c, out) => writeFile(out, '1\n00:00:00,000 --> 00:00:00,500\nhello\n\n2\n00:00:00,500 --> 00:00:00,900\nworld\n\n'),
  'subs.ass': (_c, out) => writeFile(out, [
    '[Script Info]', 'ScriptType: v4.00+', 'PlayResX: 160', 'PlayResY: 120', '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    'Style: Default,DejaVu Sans,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1', '',
    '[Events]', 'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    'Dialogue: 0,0:00:00.00,0:00:00.90,Default,,0,0,0,,hello', '',
  ].join('\n')),
  'chapters.txt': (_c, out) => writeFile(out, 'CHAPTER01=00:00:00.000\nCHAPTER01NAME=Intro\nCHAPTER02=00:00:00.500\nCHAPTER02NAME=Main\n'),
  // Timestamps (ms) of the 10 frames: uneven, as a phone that drops frames in low light writes them.
  'vfr.txt': (_c, out) => writeFile(out, '# timestamp format v2\n0\n40\n150\n310\n333\n520\n600\n640\n810\n960\n'),
};

// --- the samples --------------------------------------------------------------------------------

const g = (id: string, kind: SampleKind, what: string, pipeline: (out: string) => string, tool = 'gstreamer'): RealWorldSample => ({
  id, kind, what, tool, needs: ['gst-launch-1.0'], build: (ctx) => gst(ctx, pipeline(ctx.at(id))),
});

export const REALWORLD_SAMPLES: readonly RealWorldSample[] = [
  // --- GStreamer: phone- and camera-like video ---------------------------------------------------
  g('qtmux-h264-aac.mov', 'video', 'QuickTime H.264/AAC as a camera app writes it', (o) => `${V()} ! ${H264} ! qtmux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer qtmux'),
  g('qtmux-timecode.mov', 'video', 'QuickTime with a timecode (tmcd) track, as pro cameras write it', (o) => `${V()} ! timecodestamper ! ${H264} ! qtmux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer qtmux'),
  g('mp4mux-h264-aac.mp4', 'video', 'MP4 H.264/AAC', (o) => `${V()} ! ${H264} ! mp4mux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mp4mux'),
  g('mp4mux-fragmented.mp4', 'video', 'fragmented MP4 (moof/mdat pairs, mfra), as live recorders write it', (o) => `${V()} ! ${H264} ! mp4mux fragment-duration=300 name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mp4mux'),
  g('mp4mux-two-audio.mp4', 'video', 'two audio tracks (stereo and a mono commentary)', (o) => `${V()} ! ${H264} ! mp4mux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m. ${A({ ch: 1, wave: 2 })} ! ${AAC} ! m.`, 'gstreamer mp4mux'),
  g('mp4mux-hevc.mp4', 'video', 'HEVC/AAC in MP4 (what current phones record)', (o) => `${V()} ! x265enc speed-preset=ultrafast ! h265parse ! mp4mux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mp4mux + x265'),
  g('mp4mux-hevc-10bit.mp4', 'video', '10-bit HEVC (HDR phone video)', (o) => `${V({ format: 'I420_10LE' })} ! x265enc speed-preset=ultrafast ! h265parse ! mp4mux ! filesink location=${o}`, 'gstreamer mp4mux + x265'),
  g('mp4mux-av1.mp4', 'video', 'AV1/AAC in MP4', (o) => `${V()} ! av1enc cpu-used=8 ! av1parse ! mp4mux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mp4mux + aom'),
  g('matroskamux-h264-10bit.mkv', 'video', '10-bit H.264 (High 10) in Matroska', (o) => `${V({ format: 'I420_10LE' })} ! ${H264} ! matroskamux ! filesink location=${o}`, 'gstreamer matroskamux'),
  g('matroskamux-h264-vorbis.mkv', 'video', 'Matroska H.264/Vorbis', (o) => `${V()} ! ${H264} ! matroskamux name=m ! filesink location=${o} ${A()} ! vorbisenc ! m.`, 'gstreamer matroskamux'),
  g('matroskamux-live.mkv', 'video', 'Matroska written live (streamable: unknown-size Segment and Clusters)', (o) => `${V()} ! ${H264} ! matroskamux streamable=true name=m ! filesink location=${o} ${A()} ! opusenc ! m.`, 'gstreamer matroskamux'),
  g('webmmux-vp9-opus.webm', 'video', 'WebM VP9/Opus', (o) => `${V()} ! vp9enc deadline=1 cpu-used=8 ! webmmux name=m ! filesink location=${o} ${A()} ! opusenc ! m.`, 'gstreamer webmmux'),
  g('webmmux-vp8-odd-size.webm', 'video', 'VP8 at an odd size (161 × 97)', (o) => `${V({ w: 161, h: 97 })} ! vp8enc deadline=1 ! webmmux ! filesink location=${o}`, 'gstreamer webmmux'),
  g('avimux-mjpeg-pcm.avi', 'video', 'AVI MJPEG/PCM, as webcams and old cameras write it', (o) => `${V()} ! jpegenc ! avimux name=m ! filesink location=${o} ${A()} ! audio/x-raw,format=S16LE ! m.`, 'gstreamer avimux'),
  g('avimux-h264-mp3.avi', 'video', 'AVI H.264/MP3', (o) => `${V()} ! ${H264} ! avimux name=m ! filesink location=${o} ${A()} ! ${MP3} ! m.`, 'gstreamer avimux'),
  g('oggmux-theora-vorbis.ogv', 'video', 'Ogg Theora/Vorbis (Wikimedia-style)', (o) => `${V()} ! theoraenc ! oggmux name=m ! filesink location=${o} ${A()} ! vorbisenc ! m.`, 'gstreamer oggmux'),
  g('mpegtsmux-avchd.mts', 'video', 'AVCHD-like M2TS (192-byte packets) H.264/AAC, as camcorders write it', (o) => `${V()} ! ${H264} ! mpegtsmux m2ts-mode=true name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mpegtsmux'),
  g('mpegtsmux-broadcast.ts', 'video', 'MPEG-TS H.264/AAC, as broadcast recorders and drones write it', (o) => `${V()} ! ${H264} ! mpegtsmux name=m ! filesink location=${o} ${A()} ! ${AAC} ! m.`, 'gstreamer mpegtsmux'),
  g('mplex-dvd.mpg', 'video', 'DVD-style MPEG-2 program stream (with a DVD navigation data stream)', (o) => `${V({ w: 352, h: 288, fps: 25 })} ! mpeg2enc format=8 ! mplex format=8 name=m ! filesink location=${o} ${A()} ! ${MP3} ! m.`, 'gstreamer mpeg2enc + mplex (mjpegtools)'),
  g('mpegpsmux-h264-mp3.mpg', 'video', 'MPEG program stream H.264/MP3', (o) => `${V()} ! ${H264} ! mpegpsmux name=m ! filesink location=${o} ${A()} ! ${MP3} ! m.`, 'gstreamer mpegpsmux'),

  // --- GStreamer: audio ---------------------------------------------------------------------------
  g('wavenc-s16.wav', 'audio', 'WAV PCM with a trailing LIST chunk', (o) => `${A()} ! wavenc ! filesink location=${o}`, 'gstreamer wavenc'),
  g('wavenc-mulaw.wav', 'audio', 'G.711 µ-law WAV (telephony, voicemail)', (o) => `${A({ rate: 8000, ch: 1 })} ! mulawenc ! wavenc ! filesink location=${o}`, 'gstreamer wavenc'),
  g('wavenc-alaw.wav', 'audio', 'G.711 A-law WAV (European telephony)', (o) => `${A({ rate: 8000, ch: 1 })} ! alawenc ! wavenc ! filesink location=${o}`, 'gstreamer wavenc'),
  g('aiffmux.aiff', 'audio', 'AIFF (big-endian PCM, as macOS tools write it)', (o) => `${A()} ! aiffmux ! filesink location=${o}`, 'gstreamer aiffmux'),
  g('flacenc.flac', 'audio', 'FLAC', (o) => `${A()} ! flacenc ! filesink location=${o}`, 'gstreamer flacenc'),
  g('oggmux-vorbis.ogg', 'audio', 'Ogg Vorbis', (o) => `${A()} ! vorbisenc ! oggmux ! filesink location=${o}`, 'gstreamer oggmux'),
  g('id3v2mux.mp3', 'audio', 'MP3 with an ID3v2.4 tag', (o) => `${A()} ! lamemp3enc ! taginject tags=title=Song,artist=Someone ! id3v2mux ! filesink location=${o}`, 'gstreamer id3v2mux'),
  g('mp4mux-aac.m4a', 'audio', 'M4A AAC', (o) => `${A({ rate: 44100 })} ! ${AAC} ! mp4mux ! filesink location=${o}`, 'gstreamer mp4mux'),

  // --- mkvmerge -----------------------------------------------------------------------------------
  {
    id: 'mkvmerge-srt.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'a movie with SubRip subtitles',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-srt.mkv'), await c.input('base.mp4'), await c.input('subs.srt')]),
  },
  {
    id: 'mkvmerge-ass-font.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'an anime-style release: ASS subtitles and the font they use attached',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-ass-font.mkv'), await c.input('base.mp4'), await c.input('subs.ass'), '--attachment-mime-type', 'application/x-truetype-font', '--attach-file', FONT]),
  },
  {
    id: 'mkvmerge-font-only.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'subtitles removed, the font attachment kept',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-font-only.mkv'), await c.input('base.mp4'), '--attachment-mime-type', 'application/x-truetype-font', '--attach-file', FONT]),
  },
  {
    id: 'mkvmerge-chapters.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'chapters (an OGM chapter file)',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-chapters.mkv'), '--chapters', await c.input('chapters.txt'), await c.input('base.mp4')]),
  },
  {
    id: 'mkvmerge-vfr.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'variable frame rate (a v2 timestamp file)',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-vfr.mkv'), '--timestamps', `0:${await c.input('vfr.txt')}`, await c.input('base.mp4')]),
  },
  {
    id: 'mkvmerge-two-audio.mkv', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'two audio tracks with languages (a dubbed film)',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '-o', c.at('mkvmerge-two-audio.mkv'), '--language', '1:eng', '--language', '2:deu', await c.input('two-audio.mp4')]),
  },
  {
    id: 'mkvmerge-remux.webm', tool: 'mkvmerge', kind: 'video', needs: ['mkvmerge', 'gst-launch-1.0'],
    what: 'a WebM remuxed by mkvmerge (--webm)',
    build: async (c) => tool('/usr/bin/mkvmerge', ['-q', '--webm', '-o', c.at('mkvmerge-remux.webm'), await c.input('vp9.webm')]),
  },

  // --- exiftool and AtomicParsley edits -------------------------------------------------------------
  {
    id: 'exiftool-rotation.mp4', tool: 'exiftool', kind: 'video', needs: ['exiftool', 'gst-launch-1.0'],
    what: 'an MP4 rotated by exiftool (-Rotation=90 rewrites the tkhd matrix)',
    build: async (c) => tool('/usr/bin/exiftool', ['-q', '-Rotation=90', '-o', c.at('exiftool-rotation.mp4'), await c.input('base.mp4')]),
  },
  {
    id: 'exiftool-rotation.mov', tool: 'exiftool', kind: 'video', needs: ['exiftool', 'gst-launch-1.0'],
    what: 'a portrait QuickTime movie: exiftool -Rotation=270 on a qtmux file, as phones record upright video',
    build: async (c) => tool('/usr/bin/exiftool', ['-q', '-Rotation=270', '-Make=Apple', '-Model=iPhone', '-o', c.at('exiftool-rotation.mov'), await c.input('base.mov')]),
  },
  {
    id: 'exiftool-gps.mp4', tool: 'exiftool', kind: 'video', needs: ['exiftool', 'gst-launch-1.0'],
    what: 'an MP4 with a title and GPS coordinates written by exiftool (XMP/udta)',
    build: async (c) => tool('/usr/bin/exiftool', ['-q', '-Title=Holiday', '-GPSCoordinates=48.1, 11.5', '-o', c.at('exiftool-gps.mp4'), await c.input('base.mp4')]),
  },
  {
    id: 'atomicparsley-tags.mp4', tool: 'AtomicParsley', kind: 'video', needs: ['AtomicParsley', 'gst-launch-1.0'],
    what: 'an MP4 tagged by AtomicParsley (iTunes ilst, padding)',
    build: async (c) => {
      const out = c.at('atomicparsley-tags.mp4');
      await copyFile(await c.input('base.mp4'), out);
      await tool('/usr/bin/AtomicParsley', [out, '--title', 'Holiday', '--comment', 'edited', '--overWrite']);
    },
  },
  {
    id: 'atomicparsley-cover.m4a', tool: 'AtomicParsley', kind: 'audio', needs: ['AtomicParsley', 'gst-launch-1.0', 'convert'],
    what: 'an M4A with cover art (covr), as music libraries tag it',
    build: async (c) => {
      const out = c.at('atomicparsley-cover.m4a');
      await copyFile(await c.input('audio.m4a'), out);
      await tool('/usr/bin/AtomicParsley', [out, '--artwork', await c.input('cover.jpg'), '--title', 'Song', '--artist', 'Someone', '--overWrite']);
    },
  },

  // --- lame -----------------------------------------------------------------------------------------
  { id: 'lame-cbr.mp3', tool: 'lame', kind: 'audio', needs: ['lame', 'sox'], what: 'CBR MP3', build: async (c) => tool('/usr/bin/lame', ['--quiet', '-b', '128', await c.input('src.wav'), c.at('lame-cbr.mp3')]) },
  { id: 'lame-vbr.mp3', tool: 'lame', kind: 'audio', needs: ['lame', 'sox'], what: 'VBR MP3 with a Xing/LAME header', build: async (c) => tool('/usr/bin/lame', ['--quiet', '-V', '4', await c.input('src.wav'), c.at('lame-vbr.mp3')]) },
  {
    id: 'lame-cover-comment.mp3', tool: 'lame', kind: 'audio', needs: ['lame', 'sox', 'convert'],
    what: 'MP3 with cover art (APIC) and a comment frame lame writes with a BOM ffmpeg rejects',
    build: async (c) => tool('/usr/bin/lame', ['--quiet', '--tt', 'Song', '--ta', 'Someone', '--tc', 'ripped at home', '--ti', await c.input('cover.jpg'), await c.input('src.wav'), c.at('lame-cover-comment.mp3')]),
  },

  // --- sox ------------------------------------------------------------------------------------------
  ...([
    ['sox-s16.wav', 'WAV PCM 16-bit', ['-b', '16']],
    ['sox-u8.wav', 'WAV PCM 8-bit unsigned', ['-b', '8', '-e', 'unsigned']],
    ['sox-s24-6ch.wav', '5.1 24-bit WAV (WAVE_FORMAT_EXTENSIBLE with a fact chunk)', ['-b', '24', '-c', '6']],
    ['sox-f32.wav', '32-bit float WAV', ['-b', '32', '-e', 'float']],
    ['sox-f64.wav', '64-bit float WAV (measurement software)', ['-b', '64', '-e', 'float']],
    ['sox-ulaw.wav', 'G.711 µ-law WAV with a fact chunk (call recordings)', ['-r', '8000', '-c', '1', '-e', 'u-law']],
    ['sox-alaw.wav', 'G.711 A-law WAV with a fact chunk', ['-r', '8000', '-c', '1', '-e', 'a-law']],
    ['sox-msadpcm.wav', 'Microsoft ADPCM WAV (dictaphones, old voice recorders)', ['-r', '8000', '-c', '1', '-e', 'ms-adpcm']],
    ['sox-imaadpcm.wav', 'IMA ADPCM WAV (voice recorders)', ['-r', '8000', '-c', '1', '-e', 'ima-adpcm']],
    ['sox.aiff', 'AIFF 16-bit', ['-b', '16']],
  ] as const).map(([id, what, opts]): RealWorldSample => ({
    id, what, tool: 'sox', kind: 'audio', needs: ['sox'],
    build: (c) => tool('/usr/bin/sox', ['-n', '-r', '44100', '-c', '2', ...opts, c.at(id), 'synth', '1', 'sine', '440']),
  })),
  {
    id: 'sox-pipe.wav', tool: 'sox', kind: 'audio', needs: ['sox'],
    what: 'WAV written to a pipe: the RIFF and data sizes are the streaming placeholder 0x7FFFF024/0x7FFFF000',
    build: (c) => tool('/usr/bin/sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', '-t', 'wav', '-', 'synth', '1', 'sine', '440'], { stdoutTo: c.at('sox-pipe.wav') }),
  },
  {
    id: 'sox-pipe-ulaw.wav', tool: 'sox', kind: 'audio', needs: ['sox'],
    what: 'G.711 µ-law WAV written to a pipe: placeholder sizes and a fact chunk whose sample count is a placeholder too',
    build: (c) => tool('/usr/bin/sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', '-t', 'wav', '-', 'synth', '1', 'sine', '440'], { stdoutTo: c.at('sox-pipe-ulaw.wav') }),
  },
  {
    id: 'lame-decode-pipe.wav', tool: 'lame', kind: 'audio', needs: ['lame', 'sox'],
    what: 'lame --decode to a pipe: data size 0x7FFFFFFF, RIFF size beyond it',
    build: async (c) => {
      const mp3 = c.at('lame-decode-src.mp3');
      await tool('/usr/bin/lame', ['--quiet', await c.input('src.wav'), mp3]);
      await tool('/usr/bin/lame', ['--quiet', '--decode', mp3, '-'], { stdoutTo: c.at('lame-decode-pipe.wav') });
    },
  },

  // --- flac, opus-tools, vorbis-tools -----------------------------------------------------------------
  { id: 'flac-tags.flac', tool: 'flac', kind: 'audio', needs: ['flac', 'sox'], what: 'FLAC with Vorbis comments', build: async (c) => tool('/usr/bin/flac', ['-s', '-f', '-T', 'ARTIST=Someone', '-T', 'TITLE=Song', '-o', c.at('flac-tags.flac'), await c.input('src.wav')]) },
  { id: 'flac-cover.flac', tool: 'flac', kind: 'audio', needs: ['flac', 'sox', 'convert'], what: 'FLAC with a PICTURE block (cover art)', build: async (c) => tool('/usr/bin/flac', ['-s', '-f', `--picture=${await c.input('cover.jpg')}`, '-o', c.at('flac-cover.flac'), await c.input('src.wav')]) },
  { id: 'opusenc.opus', tool: 'opusenc', kind: 'audio', needs: ['opusenc', 'sox'], what: 'Ogg Opus', build: async (c) => tool('/usr/bin/opusenc', ['--quiet', await c.input('src.wav'), c.at('opusenc.opus')]) },
  { id: 'opusenc-cover.opus', tool: 'opusenc', kind: 'audio', needs: ['opusenc', 'sox', 'convert'], what: 'Ogg Opus with cover art (METADATA_BLOCK_PICTURE)', build: async (c) => tool('/usr/bin/opusenc', ['--quiet', '--picture', await c.input('cover.jpg'), '--artist', 'Someone', await c.input('src.wav'), c.at('opusenc-cover.opus')]) },
  { id: 'oggenc.ogg', tool: 'oggenc', kind: 'audio', needs: ['oggenc', 'sox'], what: 'Ogg Vorbis with comments', build: async (c) => tool('/usr/bin/oggenc', ['-Q', '-c', 'ARTIST=Someone', '-o', c.at('oggenc.ogg'), await c.input('src.wav')]) },
  { id: 'oggenc-chapters.oga', tool: 'oggenc', kind: 'audio', needs: ['oggenc', 'sox'], what: 'Ogg Vorbis audiobook with chapter comments (.oga)', build: async (c) => tool('/usr/bin/oggenc', ['-Q', '-c', 'CHAPTER001=00:00:00.000', '-c', 'CHAPTER001NAME=Intro', '-c', 'CHAPTER002=00:00:00.500', '-c', 'CHAPTER002NAME=Main', '-o', c.at('oggenc-chapters.oga'), await c.input('src.wav')]) },

  // --- ImageMagick, cwebp, exiftool: stills ---------------------------------------------------------
  ...([
    ['im.png', 'PNG', []],
    ['im-16bit.png', '16-bit PNG', ['-depth', '16']],
    ['im-gray.png', 'greyscale PNG', ['-colorspace', 'Gray']],
    ['im.jpg', 'baseline JPEG at an odd size', ['-quality', '85']],
    ['im-progressive.jpg', 'progressive JPEG', ['-interlace', 'JPEG']],
    ['im-cmyk.jpg', 'CMYK JPEG (print workflows)', ['-colorspace', 'CMYK']],
    ['im.gif', 'GIF still', []],
    ['im.webp', 'WebP still (ImageMagick)', []],
  ] as const).map(([id, what, opts]): RealWorldSample => ({
    id, what, tool: 'imagemagick', kind: 'image', needs: ['convert'],
    build: (c) => tool('/usr/bin/convert', ['-size', '161x97', 'gradient:blue-yellow', ...opts, c.at(id)]),
  })),
  {
    id: 'im-animated.gif', tool: 'imagemagick', kind: 'image', needs: ['convert'], what: 'animated GIF (three frames, looping)',
    build: (c) => tool('/usr/bin/convert', ['-size', '64x48', 'xc:red', 'xc:blue', 'xc:green', '-set', 'delay', '10', '-loop', '0', c.at('im-animated.gif')]),
  },
  { id: 'cwebp-lossy.webp', tool: 'cwebp', kind: 'image', needs: ['cwebp', 'convert'], what: 'lossy WebP (cwebp)', build: async (c) => tool('/usr/bin/cwebp', ['-quiet', await c.input('gradient.png'), '-o', c.at('cwebp-lossy.webp')]) },
  { id: 'cwebp-lossless.webp', tool: 'cwebp', kind: 'image', needs: ['cwebp', 'convert'], what: 'lossless WebP (cwebp -lossless)', build: async (c) => tool('/usr/bin/cwebp', ['-quiet', '-lossless', await c.input('gradient.png'), '-o', c.at('cwebp-lossless.webp')]) },
  {
    id: 'exiftool-camera.jpg', tool: 'exiftool', kind: 'image', needs: ['exiftool', 'convert'], what: 'a JPEG with camera EXIF (orientation 6, GPS, artist) written by exiftool',
    build: async (c) => {
      const out = c.at('exiftool-camera.jpg');
      await tool('/usr/bin/convert', ['-size', '161x97', 'gradient:blue-yellow', out]);
      await tool('/usr/bin/exiftool', ['-q', '-overwrite_original', '-n', '-Orientation=6', '-Artist=Someone', '-Make=Canon', '-GPSLatitude=48.1', '-GPSLatitudeRef=N', out]);
    },
  },
];

/** The commands of `needs` that are not installed (./setup.sh installs them all). */
export async function missingTools(samples: readonly RealWorldSample[] = REALWORLD_SAMPLES): Promise<string[]> {
  const { access } = await import('node:fs/promises');
  const names = [...new Set(samples.flatMap((s) => s.needs))];
  const missing: string[] = [];
  for (const n of names) await access(`/usr/bin/${n}`).catch(() => missing.push(n));
  await access(FONT).catch(() => missing.push(FONT));
  return missing;
}

/** Build every sample into `dir`, `concurrency` at a time; id → absolute path. */
export async function buildCorpus(dir: string, samples: readonly RealWorldSample[] = REALWORLD_SAMPLES, concurrency = 2): Promise<Map<string, string>> {
  const shared = new Map<SharedInput, Promise<string>>();
  const ctx: CorpusContext = {
    dir,
    at: (name) => path.join(dir, name),
    input(name) {
      let p = shared.get(name);
      if (!p) {
        const out = path.join(dir, `_${name}`);
        p = SHARED[name](ctx, out).then(() => out);
        shared.set(name, p);
      }
      return p;
    },
  };
  const files = new Map<string, string>();
  const queue = [...samples];
  const worker = async (): Promise<void> => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      await s.build(ctx);
      files.set(s.id, ctx.at(s.id));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return files;
}
