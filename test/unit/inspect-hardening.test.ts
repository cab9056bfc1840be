/** Run-time hardening detection: parsing the binary's listings, planning, requirements, cache. */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HARDENING_CACHE_FILE } from '../../src/posture/capabilities/cache.js';
import { detectCapabilities } from '../../src/posture/capabilities/detect.js';
import { decoderStreamType, parseDecoders, parseHelpFull, type Capabilities } from '../../src/posture/capabilities/listing.js';
import { missingHardening, requiredHardening, supports } from '../../src/plan/hardening/catalog.js';
import { decodersFor } from '../../src/plan/hardening/decoders.js';
import { planHardening, type HardeningContext } from '../../src/plan/hardening/plan.js';
import { buildFfmpegArgv, buildProbeArgv } from '../../src/plan/ffmpeg-argv.js';
import type { Policy } from '../../src/policy/types.js';

const HELP = `Hyper fast Audio and Video encoder
Global options (affect whole program instead of just one file):
-loglevel loglevel  set logging level
-max_alloc bytes    set maximum size of a single allocated block

AVCodecContext AVOptions:
  -max_pixels        <int64>      ED.VAS..... Maximum number of pixels (from 0 to INT_MAX) (default INT_MAX)
  -max_samples       <int64>      ED..A...... Maximum number of samples (from 0 to INT_MAX) (default INT_MAX)

AVFormatContext AVOptions:
  -codec_whitelist   <string>     .D......... List of decoders that are allowed to be used
  -format_whitelist  <string>     .D......... List of demuxers that are allowed to be used
  -protocol_whitelist <string>     .D......... List of protocols that are allowed to be used
  -max_streams       <int>        .D......... maximum number of streams (from 0 to INT_MAX) (default 1000)

hls demuxer AVOptions:
  -allowed_extensions <string>     .D......... List of file extensions that hls is allowed to access
  -http_seekable     <boolean>    .D......... Use HTTP partial requests, 0 = disable, 1 = enable, -1 = auto (default auto)
     auto            -1           .D.........

mov,mp4,m4a,3gp,3g2,mj2 AVOptions:
  -use_absolute_path <boolean>    .D.V....... allow using absolute path when opening alias
  -enable_drefs      <boolean>    .D.V....... Enable external track support. (default false)
`;

const DECODERS = `Decoders:
 V..... = Video
 ------
 VFS..D h264                 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10
 A....D mp3float             MP3 (MPEG audio layer 3) (codec mp3)
 A....D mp3                  MP3 (MPEG audio layer 3)
 V..... libdav1d             dav1d AV1 decoder by VideoLAN (codec av1)
 S..... srt                  SubRip subtitle (codec subrip)
`;

const caps: Capabilities = { sections: parseHelpFull(HELP), decoders: parseDecoders(DECODERS) };

const ctx: HardeningContext = {
  formats: ['mov'],
  pinned: 'mov',
  decoders: ['h264'],
  maxStreams: 16,
  maxPixels: 1000,
  maxSampleRate: 48000,
  maxChannels: 2,
  addressSpaceMiB: 4096,
  mediaExtensions: ['mp4', 'ts'],
};

function policy(stage: Policy['stage'], formats: string[], extra?: string[]): Policy {
  return { stage, input: { formats, ...(extra ? { requiredHardening: extra } : {}) } } as unknown as Policy;
}

describe('parsing the listings', () => {
  it('finds program, format, codec and demuxer-private options by section', () => {
    expect(caps.sections['global']).toContain('max_alloc');
    expect(caps.sections['AVFormatContext']).toEqual(['codec_whitelist', 'format_whitelist', 'max_streams', 'protocol_whitelist']);
    expect(caps.sections['hls demuxer']).toEqual(['allowed_extensions', 'http_seekable']);
    expect(caps.sections['mov,mp4,m4a,3gp,3g2,mj2']).toContain('enable_drefs');
  });

  it('maps decoders to their codec and stream type', () => {
    expect(caps.decoders['mp3float']).toEqual({ type: 'A', codec: 'mp3' });
    expect(caps.decoders['h264']).toEqual({ type: 'V', codec: 'h264' });
    expect(decodersFor(['mp3', 'av1', 'h264'], caps)).toEqual(['h264', 'libdav1d', 'mp3', 'mp3float']);
    expect(decoderStreamType('srt', caps)).toBe('subtitle');
    // Without a listing, the well-known aliases still apply (mp3 is decoded by mp3float).
    expect(decodersFor(['mp3'], undefined)).toEqual(['mp3', 'mp3float']);
  });
});

describe('planning what to inject', () => {
  it('injects every option the build has, demuxer-private ones only for the pinned demuxer', () => {
    const p = planHardening(caps, ctx);
    expect(p.globalArgs).toEqual(['-max_alloc', String(1024 * 1024 * 1024)]);
    expect(p.inputArgs).toEqual(['-max_streams', '16', '-max_samples', String(1 << 20), '-enable_drefs', '0', '-use_absolute_path', '0']);
    expect(p.applied).toEqual(expect.arrayContaining(['protocol_whitelist', 'codec_whitelist', 'max_pixels', 'mov.enable_drefs']));
    const unpinned = planHardening(caps, { ...ctx, pinned: undefined, formats: ['mov', 'wav'] });
    expect(unpinned.inputArgs).not.toContain('-enable_drefs');
  });

  it('a late backport the build lacks is left out and reported absent', () => {
    const p = planHardening(caps, { ...ctx, pinned: 'hls', formats: ['hls'] });
    expect(p.inputArgs).toEqual(expect.arrayContaining(['-allowed_extensions', 'mp4,ts']));
    expect(p.absent).toEqual(['hls.allowed_segment_extensions', 'hls.extension_picky']);
  });

  it('the argv builders place the plan before the input and whitelist decoders by name', () => {
    const plan = planHardening(caps, { ...ctx, decoders: decodersFor(['h264', 'mp3'], caps) });
    const a = buildFfmpegArgv({ ffmpegPath: '/usr/bin/ffmpeg', inputPath: '/in/input.mp4', outputPath: '/job/o.mkv', demuxer: 'mov', codecs: ['h264', 'mp3'], maxPixels: 1000, maxDurationSeconds: 10, threads: 2, probesize: 1, analyzeDurationUs: 1, muxer: 'matroska', outputArgs: [], stats: false, hardening: plan });
    const i = a.indexOf('-i');
    expect(a.indexOf('-max_alloc')).toBeLessThan(i);
    expect(a.indexOf('-enable_drefs')).toBeLessThan(i);
    expect(a[a.indexOf('-codec_whitelist') + 1]).toBe('h264,mp3,mp3float');
    const pa = buildProbeArgv({ ffprobePath: '/usr/bin/ffprobe', inputPath: '/in/x', formats: ['mov'], probesize: 1, analyzeDurationUs: 1, hardening: plan });
    expect(pa[pa.indexOf('-max_streams') + 1]).toBe('16');
  });
});

describe('what each stage requires of the build', () => {
  it('grows with the stage and with the risky demuxers a policy allows', () => {
    expect(requiredHardening(policy('initial', ['mov']))).toEqual(['protocol_whitelist', 'format_whitelist']);
    expect(requiredHardening(policy('advanced', ['mov']))).toContain('max_streams');
    expect(requiredHardening(policy('optimal', ['mov']))).toContain('max_alloc');
    expect(requiredHardening(policy('advanced', ['mov', 'hls']))).toEqual(expect.arrayContaining(['hls.allowed_segment_extensions', 'hls.extension_picky']));
    expect(requiredHardening(policy('initial', ['hls']))).not.toContain('hls.extension_picky');
    expect(requiredHardening(policy('advanced', ['mov'], ['mpegts demuxer.resync_size']))).toContain('mpegts demuxer.resync_size');
  });

  it('a missing required option is a posture refusal that names it', () => {
    const v = missingHardening(caps, requiredHardening(policy('advanced', ['mov', 'hls'])), '/usr/bin/ffmpeg');
    expect(v.map((x) => x.limit)).toEqual(['hls.allowed_segment_extensions', 'hls.extension_picky']);
    expect(v[0]?.rule).toBe('posture.hardening');
    expect(v[0]?.message).toMatch(/lacks the hardening option "hls.allowed_segment_extensions"/);
    expect(missingHardening(caps, requiredHardening(policy('advanced', ['mov'])), '/usr/bin/ffmpeg')).toEqual([]);
  });

  it('free-form requirements are checked by section and option', () => {
    expect(supports(caps, 'hls.http_seekable')).toBe(true);
    expect(supports(caps, 'max_alloc')).toBe(true);
    expect(supports(caps, 'hls.nope')).toBe(false);
  });
});

describe('the installed build', () => {
  it('has the hardening the advanced stage needs, and the listing is cached by binary', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-hardening-'));
    try {
      const real = await detectCapabilities('/usr/bin/ffmpeg', { stateDir: dir });
      expect(missingHardening(real, requiredHardening(policy('optimal', ['mov', 'matroska'])), '/usr/bin/ffmpeg')).toEqual([]);
      expect(decodersFor(['mp3'], real)).toEqual(expect.arrayContaining(['mp3', 'mp3float']));
      const cached = JSON.parse(await readFile(path.join(dir, HARDENING_CACHE_FILE), 'utf8')) as { entries: Record<string, unknown> };
      const keys = Object.keys(cached.entries);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/\/usr\/bin\/ffmpeg\|\d+:\d+:/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
