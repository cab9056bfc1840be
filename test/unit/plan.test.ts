/** Pure planning: the ffmpeg argv the wrapper builds and the operation it chooses. */
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildFfmpegArgv, buildProbeArgv } from '../../src/plan/ffmpeg-argv.js';
import { chooseOperation } from '../../src/plan/operation.js';
import { BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import type { Policy } from '../../src/policy/types.js';
import { isZtError } from '../../src/errors.js';

const base = {
  ffmpegPath: '/usr/bin/ffmpeg',
  inputPath: '/in/input.mp4',
  outputPath: '/job/output.mp4',
  demuxer: 'mov',
  codecs: ['h264', 'aac'],
  maxPixels: 33177600,
  maxDurationSeconds: 14400,
  threads: 4,
  probesize: 10000000,
  analyzeDurationUs: 10000000,
  muxer: 'mp4',
  outputArgs: ['-c:v', 'libx264', '-t', '999999', '-map_metadata', '0'],
  stats: false,
};

describe('buildFfmpegArgv', () => {
  it('pins the demuxer, the decoders, the protocols and the pixel count before the input', () => {
    const a = buildFfmpegArgv(base);
    const i = a.indexOf('-i');
    const before = a.slice(0, i);
    expect(before).toEqual(expect.arrayContaining(['-nostdin', '-y']));
    const pair = (k: string): string | undefined => before[before.indexOf(k) + 1];
    expect(pair('-protocol_whitelist')).toBe('file');
    expect(pair('-format_whitelist')).toBe('mov');
    expect(pair('-f')).toBe('mov');
    expect(pair('-codec_whitelist')?.split(',')).toEqual(expect.arrayContaining(['h264', 'aac']));
    expect(pair('-max_pixels')).toBe('33177600');
    expect(a[i + 1]).toBe('/in/input.mp4');
    expect(a.at(-1)).toBe('/job/output.mp4');
    expect(a.at(-3)).toBe('-f');
    expect(a.at(-2)).toBe('mp4');
  });

  it("puts the wrapper's caps after the passthrough arguments, so ffmpeg's last-wins cannot lift them", () => {
    const a = buildFfmpegArgv(base);
    const lastT = a.lastIndexOf('-t');
    expect(a[lastT + 1]).toBe('14400');
    expect(lastT).toBeGreaterThan(a.indexOf('999999'));
    expect(a[a.lastIndexOf('-map_metadata') + 1]).toBe('-1');
    expect(a[a.lastIndexOf('-threads') + 1]).toBe('4');
  });

  it('the probe is bounded and whitelisted too', () => {
    const a = buildProbeArgv({ ffprobePath: '/usr/bin/ffprobe', inputPath: '/in/x', formats: ['mov', 'wav'], probesize: 5, analyzeDurationUs: 6 });
    expect(a).toEqual(expect.arrayContaining(['-protocol_whitelist', 'file', '-format_whitelist', 'mov,wav', '-probesize', '5', '-analyzeduration', '6']));
  });
});

describe('chooseOperation', () => {
  let policy: Policy;
  it('loads the advanced policy', async () => {
    policy = parsePolicyText('/a.yaml', Buffer.from(await readFile(path.join(BUNDLED_DIR, 'advanced.yaml'), 'utf8'))).data as unknown as Policy;
    expect(policy.operations.default).toBe('transcode');
  });

  it('picks the default operation and the target of the output extension', () => {
    const c = chooseOperation(policy, undefined, 'WEBM');
    expect(c.name).toBe('transcode');
    expect(c.target.format).toBe('webm');
  });

  it('refuses an unknown operation and an impossible extension, listing what exists', () => {
    for (const [op, ext, text] of [['nope', 'mp4', 'choose one of'], ['thumbnail', 'mp4', '.jpg']] as const) {
      try {
        chooseOperation(policy, op, ext);
        throw new Error('expected a refusal');
      } catch (e) {
        expect(isZtError(e) && e.exitCode === 2 && (e.hint ?? '').includes(text)).toBe(true);
      }
    }
  });
});
