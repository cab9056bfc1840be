/**
 * The pure decisions behind accepting what real writers produce: which streams a job reads,
 * what an unused stream means under each input.unusedStreams action, which ffprobe diagnostics
 * are tag damage, the RIFF size tolerances, and that every codec a stage allows can be carried
 * by a container the same stage allows.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { selectedStreams, selectedByAny } from '../../src/media/stream-selection.js';
import { classifyDiagnostics } from '../../src/inspect/probe-diagnostics.js';
import { judgeRiffSize, isStreamingPlaceholder, type RiffChunk } from '../../src/inspect/riff-tolerance.js';
import { walkBuffer } from '../../src/inspect/structure.js';
import { checkProbe } from '../../src/inspect/rules.js';
import { classifyProbe } from '../../src/inspect/inspect-input.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import { buildDeepCheckArgv, buildFfmpegArgv } from '../../src/plan/ffmpeg-argv.js';
import { familyOfMagic } from '../../src/media/formats.js';
import type { InputConfig, Policy } from '../../src/policy/types.js';
import { ROOT } from '../helpers/cli.js';

const S = (index: number, codecType: string, attachedPic = false): { index: number; codecType: string; attachedPic: boolean } => ({ index, codecType, attachedPic });
/** An MKV as mkvmerge writes a release: video, two audio tracks, ASS subtitles, a font. */
const RELEASE = [S(0, 'video'), S(1, 'audio'), S(2, 'audio'), S(3, 'subtitle'), S(4, 'attachment')];
const TRANSCODE = ['-map', '0:v:0?', '-map', '0:a:0?', '-c:v', 'libx264'];

describe('the streams a job reads', () => {
  it('follows -map like ffmpeg does', () => {
    expect([...selectedStreams(TRANSCODE, RELEASE)]).toEqual([0, 1]);
    expect([...selectedStreams(['-map', '0:a:1'], RELEASE)]).toEqual([2]);
    expect([...selectedStreams(['-map', '0:3'], RELEASE)]).toEqual([3]);
    expect([...selectedStreams(['-map', '0', '-map', '-0:s', '-map', '-0:t'], RELEASE)].sort()).toEqual([0, 1, 2]);
    expect([...selectedStreams(['-map', '0:a'], RELEASE)]).toEqual([1, 2]);
    // V skips an attached picture (cover art).
    expect([...selectedStreams(['-map', '0:V?'], [S(0, 'audio'), S(1, 'video', true)])]).toEqual([]);
    expect([...selectedStreams(['-map', '0:v:0'], [S(0, 'audio'), S(1, 'video', true)])]).toEqual([1]);
  });

  it('counts every stream ffmpeg could pick when it cannot follow exactly', () => {
    const all = RELEASE.map((s) => s.index);
    expect([...selectedStreams(['-filter_complex', '[0:v]scale=2:2[o]', '-map', '[o]'], RELEASE)].sort()).toEqual(all);
    expect([...selectedStreams(['-map', '0:m:language:eng'], RELEASE)].sort()).toEqual(all);
    expect([...selectedStreams(['-map', '0:p:1'], RELEASE)].sort()).toEqual(all);
    // No -map: ffmpeg's own choice among video, audio, subtitle (and matching data) streams.
    expect([...selectedStreams(['-c:v', 'libx264'], RELEASE)].sort()).toEqual([0, 1, 2, 3]);
    expect([...selectedStreams(['-sn'], RELEASE)].sort()).toEqual([0, 1, 2]);
  });

  it('check judges the union of an operation\'s targets', () => {
    expect([...selectedByAny([TRANSCODE, ['-map', '0:a:0']], RELEASE)].sort()).toEqual([0, 1]);
  });

  it('the job disables the streams it does not read, in the deep check and the transcode alike', () => {
    const pins = { ffmpegPath: 'ffmpeg', inputPath: '/in/input.mkv', demuxer: 'matroska', codecs: ['h264', 'aac'], discard: [2, 3, 4], maxPixels: 1, maxDurationSeconds: 1, threads: 1, probesize: 1, analyzeDurationUs: 1 };
    for (const argv of [buildDeepCheckArgv(pins), buildFfmpegArgv({ ...pins, outputPath: 'o.mp4', muxer: 'mp4', outputArgs: TRANSCODE, stats: false })]) {
      const input = argv.indexOf('-i');
      for (const i of [2, 3, 4]) expect(argv.indexOf(`-discard:${i}`), argv.join(' ')).toBeLessThan(input);
      expect(argv[argv.indexOf('-discard:3') + 1]).toBe('all');
      expect(argv[argv.indexOf('-codec_whitelist') + 1]).not.toMatch(/ass|ssa|srt/);
    }
  });
});

const probeOf = (streams: Array<Record<string, unknown>>): ReturnType<typeof parseProbeJson> =>
  parseProbeJson(JSON.stringify({ format: { format_name: 'matroska,webm', duration: '1' }, streams: streams.map((s, index) => ({ index, ...s })) }));

const RULES = (p: Partial<InputConfig>): InputConfig => ({ ...(parse(readFileSync(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8')) as Policy).input, ...p });

describe('what an unused stream means', () => {
  const release = probeOf([
    { codec_type: 'video', codec_name: 'h264', width: 160, height: 120, avg_frame_rate: '10/1' },
    { codec_type: 'audio', codec_name: 'aac', sample_rate: '48000', channels: 2 },
    { codec_type: 'subtitle', codec_name: 'ass' },
    { codec_type: 'attachment', codec_name: 'ttf' },
    { codec_type: 'data', codec_name: 'bin_data' },
  ]);
  const used = new Set([0, 1]);

  it('ignore: listed as ignored, not judged; judge: the old rules; refuse: presence refuses', () => {
    const ignore = checkProbe(release, RULES({ unusedStreams: 'ignore' }), 'mkv', used);
    expect(ignore.violations).toEqual([]);
    expect(ignore.ignored.map((s) => s.type)).toEqual(['subtitle', 'attachment', 'data']);
    const judge = checkProbe(release, RULES({ unusedStreams: 'judge' }), 'mkv', used);
    expect(judge.violations.map((v) => v.rule).sort()).toEqual(['input.allowAttachments', 'input.allowDataStreams', 'input.codecs.subtitle']);
    const refuse = checkProbe(release, RULES({ unusedStreams: 'refuse', allowAttachments: true, allowDataStreams: true }), 'mkv', used);
    expect(refuse.violations.map((v) => v.rule)).toEqual(['input.unusedStreams', 'input.unusedStreams', 'input.unusedStreams']);
    // The bundled advanced stage ignores every stream the job does not read, data streams included.
    expect(checkProbe(release, RULES({}), 'mkv', used).violations).toEqual([]);
  });

  it('a stream the job reads is judged whatever unusedStreams says; ignored streams still count towards maxStreams', () => {
    expect(checkProbe(release, RULES({ unusedStreams: 'ignore' }), 'mkv', new Set([0, 1, 2])).violations.map((v) => v.rule)).toEqual(['input.codecs.subtitle']);
    expect(checkProbe(release, RULES({ unusedStreams: 'ignore', maxStreams: 3 }), 'mkv', used).violations.map((v) => v.rule)).toEqual(['input.maxStreams']);
  });
});

describe('ffprobe diagnostics', () => {
  it('a damaged ID3 frame is tag damage; a decoder error is not; a withheld decoder is neither', () => {
    const d = classifyDiagnostics('Incorrect BOM value\nError reading comment frame, skipped\n[h264 @ 0x55d] error while decoding MB 3 4\n[ssa @ 0x1] Codec (ssa) not on whitelist \'h264\'\n');
    expect(d.metadata).toEqual(['Incorrect BOM value', 'Error reading comment frame, skipped']);
    expect(d.errors).toEqual(['error while decoding MB 3 4']);
    expect(d.withheld).toHaveLength(1);
  });

  it('tag damage is a warning at every stage; stream errors still refuse at the strict stages', () => {
    const policy = { input: RULES({}), mode: 'enforce' } as unknown as Policy;
    const stdout = JSON.stringify({ format: { format_name: 'mp3' }, streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3' }] });
    const tags = classifyProbe({ exitCode: 0, signal: undefined, stdout, stderr: 'Incorrect BOM value\nError reading comment frame, skipped\n' }, policy, undefined);
    expect(tags.violations).toEqual([]);
    expect(tags.warnings.map((w) => w.rule)).toEqual(['input.probe.metadata']);
    const broken = classifyProbe({ exitCode: 0, signal: undefined, stdout, stderr: 'Incorrect BOM value\n[mp3float @ 0x1] invalid block type\n' }, policy, undefined);
    expect(broken.violations.map((v) => v.rule)).toEqual(['input.probe.errors']);
  });
});

function riff(chunks: Array<[string, Buffer]>, riffSize?: (body: number) => number, cutAt?: number): Buffer {
  const parts = chunks.map(([id, data]) => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(data.length, 4);
    return Buffer.concat([h, data, Buffer.alloc(data.length & 1)]);
  });
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), ...parts]);
  const h = Buffer.alloc(8);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(riffSize ? riffSize(body.length) : body.length, 4);
  const all = Buffer.concat([h, body]);
  return cutAt === undefined ? all : all.subarray(0, cutAt);
}
const FMT: [string, Buffer] = ['fmt ', Buffer.alloc(16)];
const fact = (n: number): [string, Buffer] => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return ['fact', b];
};

describe('RIFF sizes real writers leave', () => {
  it('a streaming placeholder is tolerated when the data runs to the end of the file', async () => {
    const wav = riff([FMT, ['data', Buffer.alloc(400)]], () => 0x7ffff024);
    wav.writeUInt32LE(0x7ffff000, 40);
    const r = await walkBuffer(wav, 'wav');
    expect(r.problems).toEqual([]);
    expect(r.tolerated?.[0]).toMatchObject({ name: 'riff-streaming-placeholder', message: expect.stringMatching(/streaming placeholder/) });
  });

  it('but not when a fact chunk claims a placeholder sample count: an inconsistent size field', async () => {
    const wav = riff([['fmt ', Buffer.alloc(18)], fact(0x7ffff000), ['data', Buffer.alloc(400)]], () => 0x7ffff032);
    wav.writeUInt32LE(0x7ffff000, 54);
    const r = await walkBuffer(wav, 'wav');
    expect(r.problems.map((p) => p.kind)).toEqual(['inconsistent-size']);
    expect(r.problems[0]?.message).toMatch(/^inconsistent size field/);
  });

  it('a RIFF size that leaves out exactly one complete chunk is tolerated', async () => {
    const r = await walkBuffer(riff([FMT, fact(200), ['data', Buffer.alloc(200)]], (n) => n - 12), 'wav');
    expect(r.problems).toEqual([]);
    expect(r.tolerated?.[0]).toMatchObject({ name: 'riff-size-off-by-one-chunk', message: expect.stringMatching(/leaves out the "fact" chunk/) });
  });

  it('only a forgotten 4-byte fact chunk is tolerated: a chunk appended after the RIFF (a second file in a JUNK chunk) is refused', async () => {
    const payload = Buffer.from('PK\x03\x04<html><script>payload</script>', 'latin1');
    const junk = await walkBuffer(riff([FMT, ['data', Buffer.alloc(200)], ['JUNK', payload]], (n) => n - 8 - payload.length), 'wav');
    expect(junk.problems.map((p) => p.kind)).not.toEqual([]);
    expect(junk.tolerated ?? []).toEqual([]);
    const lastFact = await walkBuffer(riff([FMT, ['data', Buffer.alloc(200)], fact(7)], (n) => n - 12), 'wav');
    expect(lastFact.problems.map((p) => p.kind)).not.toEqual([]);
  });

  it('any other disagreement is an inconsistent size field; a cut file is truncated', async () => {
    const wrong = await walkBuffer(riff([FMT, ['data', Buffer.alloc(200)]], (n) => n - 5), 'wav');
    expect(wrong.problems.map((p) => p.kind)).toEqual(['inconsistent-size']);
    const cut = await walkBuffer(riff([FMT, ['data', Buffer.alloc(200)]], undefined, 150), 'wav');
    expect(cut.problems.map((p) => p.kind)).toEqual(['truncated']);
    expect(cut.problems[0]?.message).toMatch(/^truncated/);
    // Sizes just under 4 GiB are no placeholder (the hostile "13 hours of audio" WAV).
    expect(isStreamingPlaceholder(0xfffffff0)).toBe(false);
    const lie = riff([FMT, ['data', Buffer.alloc(200)]], () => 0xfffffff0);
    lie.writeUInt32LE(0xffffffc0, 40);
    expect((await walkBuffer(lie, 'wav')).problems.map((p) => p.kind)).toEqual(['truncated']);
  });

  it('a placeholder with something after the data is not tolerated', () => {
    const chunks: RiffChunk[] = [{ id: 'fmt ', offset: 12, length: 16 }, { id: 'data', offset: 36, length: 0x7ffff000 }];
    expect(judgeRiffSize(0x7ffff024, chunks, 36 + 8 + 100).kind).toBe('tolerated');
    const withList: RiffChunk[] = [{ id: 'fmt ', offset: 12, length: 16 }, { id: 'LIST', offset: 36, length: 4 }, { id: 'data', offset: 48, length: 0x7ffff000 }];
    expect(judgeRiffSize(0x7ffff024, withList, 48 + 8 + 100).kind).toBe('tolerated');
    expect(judgeRiffSize(0x7ffff024, [{ id: 'fmt ', offset: 12, length: 16 }, { id: 'data', offset: 36, length: 100 }, { id: 'LIST', offset: 144, length: 0x7ffff000 }], 300).kind).not.toBe('tolerated');
  });
});

describe('the stage files', () => {
  const stages = ['initial', 'advanced', 'optimal'].map((s) => ({ s, p: parse(readFileSync(path.join(ROOT, 'policies', `${s}.yaml`), 'utf8')) as Policy }));

  /** Codecs each container family can carry (what its demuxer can ever report). */
  const CARRIES: Readonly<Record<string, readonly string[]>> = {
    isobmff: ['h264', 'hevc', 'av1', 'vp9', 'mpeg4', 'mjpeg', 'png', 'prores', 'aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_f64le', 'pcm_s16be', 'pcm_s24be', 'pcm_s32be', 'pcm_u8', 'pcm_mulaw', 'pcm_alaw', 'mpeg1video', 'mpeg2video', 'mp2', 'mov_text'],
    matroska: ['h264', 'hevc', 'av1', 'vp8', 'vp9', 'mpeg4', 'mpeg1video', 'mpeg2video', 'mjpeg', 'png', 'prores', 'theora', 'aac', 'mp3', 'mp2', 'opus', 'vorbis', 'flac', 'alac', 'ac3', 'eac3', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_f64le', 'pcm_u8', 'pcm_s16be', 'pcm_s24be', 'pcm_s32be', 'subrip', 'ass', 'webvtt'],
    wav: ['pcm_u8', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_f64le', 'pcm_mulaw', 'pcm_alaw', 'adpcm_ms', 'adpcm_ima_wav', 'mp3', 'mp2', 'ac3', 'flac', 'aac'],
    aiff: ['pcm_s16be', 'pcm_s24be', 'pcm_s32be', 'pcm_u8', 'pcm_mulaw', 'pcm_alaw', 'pcm_f32le', 'pcm_f64le'],
    mp3: ['mp3', 'mjpeg', 'png'],
    aac: ['aac'],
    flac: ['flac', 'mjpeg', 'png'],
    ogg: ['vorbis', 'opus', 'flac', 'mjpeg', 'png'],
    png: ['png'],
    jpeg: ['mjpeg'],
    gif: ['gif'],
    webp: ['webp'],
    avi: ['h264', 'mpeg4', 'mjpeg', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg1video', 'mpeg2video', 'png', 'mp3', 'mp2', 'aac', 'ac3', 'pcm_u8', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_mulaw', 'pcm_alaw', 'adpcm_ms', 'adpcm_ima_wav', 'flac', 'vorbis'],
    mpeg: ['mpeg1video', 'mpeg2video', 'h264', 'hevc', 'mpeg4', 'mp2', 'mp3', 'ac3', 'eac3', 'aac'],
    mpegts: ['h264', 'hevc', 'mpeg1video', 'mpeg2video', 'mpeg4', 'av1', 'aac', 'mp2', 'mp3', 'ac3', 'eac3', 'opus'],
    flv: ['flv1', 'h264', 'mp3', 'aac', 'pcm_s16le', 'pcm_u8'],
  };

  /** Where file-type names the magic by its content: an Ogg file with Theora in it is "ogv". */
  const BY_MAGIC: Readonly<Record<string, readonly string[]>> = { ogv: ['theora', 'vorbis', 'opus', 'flac'], opus: ['opus'], spx: ['speex'] };

  for (const { s, p } of stages) {
    it(`${s}: every codec it allows can be carried by a magic type and demuxer it allows`, () => {
      const carried = new Set(p.input.magic.flatMap((m) => {
        const f = familyOfMagic(m);
        if (!f || !f.demuxers.some((d) => p.input.formats.includes(d))) return [];
        return BY_MAGIC[m] ?? CARRIES[f.id] ?? [];
      }));
      for (const c of [...p.input.codecs.video, ...p.input.codecs.audio, ...p.input.codecs.subtitle]) expect(carried.has(c), `${s} allows ${c}, which no allowed container carries`).toBe(true);
    });

    it(`${s}: every magic type it allows has a known family and one of its demuxers allowed`, () => {
      for (const m of p.input.magic) {
        const f = familyOfMagic(m);
        expect(f, `${s}: magic ${m}`).toBeDefined();
        expect(f!.demuxers.some((d) => p.input.formats.includes(d)), `${s}: magic ${m} has no allowed demuxer`).toBe(true);
      }
    });
  }

  it('Ogg Theora passes wherever theora is allowed', () => {
    for (const { s, p } of stages) if (p.input.codecs.video.includes('theora')) expect(p.input.magic, s).toContain('ogv');
  });
});
