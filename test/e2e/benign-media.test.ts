/**
 * No over-blocking: every benign sample (mp4/h264+aac, mov, mkv, webm/vp9+opus, mp3, aac, wav,
 * flac, ogg/vorbis, opus, png, jpeg) passes `check` and `run` under the bundled advanced policy,
 * with all of the inspection's hardening in force, and the published output is what the
 * operation promises.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SAMPLES, makeSample, ffprobeJson } from '../helpers/media.js';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

interface Outcome {
  readonly verdict: string;
  readonly exitCode: number;
  readonly violations: ReadonlyArray<{ rule: string; message: string }>;
  readonly warnings: ReadonlyArray<{ rule: string }>;
  readonly output?: { path: string; sha256: string };
}

/** The output each sample is transcoded to, with the codec ffprobe must find in it. */
const TARGET: Readonly<Record<string, { out: string; operation?: string; codec: string }>> = {
  'h264-aac.mp4': { out: 'mkv', codec: 'h264' },
  'h264-aac.mov': { out: 'mp4', codec: 'h264' },
  'h264-opus.mkv': { out: 'mp4', codec: 'h264' },
  'vp9-opus.webm': { out: 'webm', codec: 'vp9' },
  'tone.mp3': { out: 'wav', codec: 'pcm_s16le' },
  'tone.aac': { out: 'mp3', codec: 'mp3' },
  'tone.wav': { out: 'flac', codec: 'flac' },
  'tone.flac': { out: 'ogg', codec: 'vorbis' },
  'tone.ogg': { out: 'mp3', codec: 'mp3' },
  'tone.opus': { out: 'wav', codec: 'pcm_s16le' },
  'frame.png': { out: 'jpg', operation: 'thumbnail', codec: 'mjpeg' },
  'frame.jpg': { out: 'png', operation: 'thumbnail', codec: 'png' },
};

let sb: Sandbox;
let dir: string;
const files = new Map<string, string>();
let checked: Outcome[];

beforeAll(async () => {
  sb = await makeSandbox('zt-benign-');
  dir = sb.dir;
  await mkdir(path.join(dir, 'out'));
  const names = Object.keys(SAMPLES);
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let n = queue.shift(); n; n = queue.shift()) files.set(n, await makeSample(dir, n));
  };
  await Promise.all([worker(), worker()]);
  const r = await sb.run(['check', '--json', ...names.map((n) => files.get(n)!)], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  checked = r.json<{ files: Outcome[] }>().files;
});

afterAll(async () => {
  await sb?.cleanup();
});

describe('benign media passes check and run under the advanced policy', () => {
  test('at least 10 samples across the allowed formats', () => {
    expect(Object.keys(SAMPLES).length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(TARGET).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  Object.keys(SAMPLES).forEach((name, i) => {
    test(`${name} is allowed and transcodes`, async () => {
      const c = checked[i]!;
      expect(c.violations, `${name}: ${JSON.stringify(c.violations)}`).toEqual([]);
      expect(c.exitCode).toBe(0);
      expect(c.verdict).toBe('ok');
      expect(c.warnings.map((w) => w.rule)).toEqual([]);
      const t = TARGET[name]!;
      const out = path.join(dir, 'out', `${path.basename(name, path.extname(name))}-${path.extname(name).slice(1)}.${t.out}`);
      const r = await sb.run(['run', '--json', ...(t.operation ? ['--operation', t.operation] : []), '-i', files.get(name)!, '-o', out], { timeoutMs: 90_000 });
      const o = r.json<Outcome>();
      expect(r.code, `${name}: ${JSON.stringify({ violations: o.violations, message: (o as { message?: string }).message })}`).toBe(0);
      expect(o.verdict).toBe('ok');
      expect(o.output?.path).toBe(out);
      const probe = await ffprobeJson(out);
      const streams = probe['streams'] as Array<{ codec_name?: string }>;
      expect(streams.map((s) => s.codec_name)).toContain(t.codec);
    });
  });

  test('no job directory is left behind', async () => {
    const left = (await readdir(path.join(dir, 'out'))).filter((n) => n.startsWith('.zt-ffmpeg-job-'));
    expect(left).toEqual([]);
  });
});
