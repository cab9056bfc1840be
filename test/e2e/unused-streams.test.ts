/**
 * Judging the streams the job reads, without reopening a threat class: under the bundled
 * advanced policy a subtitle stream the transcode does not map is accepted, listed as ignored,
 * disabled in ffmpeg (-discard) and absent from the output; raw arguments that map it make it
 * judged (and refused); an ignored stream carrying a playlist is still caught by the
 * embedded-playlist scan; a damaged ID3 tag is recorded as a warning, not a refusal.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { ffmpeg, ffprobeJson } from '../helpers/media.js';

interface Outcome {
  readonly verdict: string;
  readonly exitCode: number;
  readonly violations: ReadonlyArray<{ rule: string }>;
  readonly warnings: ReadonlyArray<{ rule: string }>;
  readonly input?: { streams?: { used: number[]; ignored: Array<{ index: number; type: string; codec?: string }> } };
  readonly dryRun?: { ffmpeg: string[] };
}

let sb: Sandbox;
const files: Record<string, string> = {};

const V = ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1'];
const A = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'];

/** An ID3v2.3 tag whose COMM frame says UTF-16 but carries no valid BOM (what lame 3.100 writes for some comments). */
function badBomTag(): Buffer {
  const body = Buffer.concat([Buffer.from([1]), Buffer.from('eng', 'latin1'), Buffer.from([0x41, 0x00, 0x00, 0x00]), Buffer.from('x', 'latin1')]);
  const frame = Buffer.concat([Buffer.from('COMM', 'latin1'), Buffer.from([0, 0, 0, body.length, 0, 0]), body]);
  const size = frame.length;
  const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  return Buffer.concat([header, frame]);
}

beforeAll(async () => {
  sb = await makeSandbox('zt-unused-');
  const srt = path.join(sb.dir, 'subs.srt');
  await writeFile(srt, '1\n00:00:00,000 --> 00:00:00,500\nhello\n\n');
  files['subs'] = path.join(sb.dir, 'subs.mkv');
  await ffmpeg([...V, ...A, '-i', srt, '-map', '0', '-map', '1', '-map', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-c:s', 'srt', '-shortest', files['subs']]);
  // The subtitle text is an HLS playlist: the stream is ignored, the bytes are still scanned.
  const evil = path.join(sb.dir, 'evil.srt');
  await writeFile(evil, '1\n00:00:00,000 --> 00:00:00,500\n#EXTM3U\n\n2\n00:00:00,500 --> 00:00:00,900\n#EXTINF:1,\n\n');
  files['playlist'] = path.join(sb.dir, 'playlist-subs.mkv');
  await ffmpeg([...V, '-i', evil, '-map', '0', '-map', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:s', 'srt', files['playlist']]);
  const mp3 = path.join(sb.dir, 'body.mp3');
  await ffmpeg([...A, '-c:a', 'libmp3lame', '-id3v2_version', '0', '-write_xing', '0', mp3]);
  files['tag'] = path.join(sb.dir, 'bad-bom.mp3');
  await writeFile(files['tag'], Buffer.concat([badBomTag(), await readFile(mp3)]));
});

afterAll(async () => {
  await sb?.cleanup();
});

async function check(file: string): Promise<Outcome> {
  const r = await sb.run(['check', '--json', file]);
  return r.json<{ files: Outcome[] }>().files[0]!;
}

async function run(file: string, out: string, extra: readonly string[] = []): Promise<{ code: number; o: Outcome }> {
  const r = await sb.run(['run', '--json', '-i', file, '-o', path.join(sb.dir, out), ...extra], { timeoutMs: 90_000 });
  return { code: r.code, o: r.json<Outcome>() };
}

describe('streams the job does not read', () => {
  test('a subtitle the transcode does not map is accepted and listed as ignored', async () => {
    const c = await check(files['subs']!);
    expect(c.violations).toEqual([]);
    expect(c.verdict).toBe('ok');
    expect(c.input?.streams?.used).toEqual([0, 1]);
    expect(c.input?.streams?.ignored).toEqual([{ index: 2, type: 'subtitle', codec: 'subrip' }]);
  });

  test('it is disabled in ffmpeg and never reaches the output', async () => {
    const dry = await run(files['subs']!, 'dry.mkv', ['--dry-run']);
    expect(dry.code).toBe(0);
    const argv = dry.o.dryRun!.ffmpeg;
    expect(argv.indexOf('-discard:2')).toBeGreaterThan(-1);
    expect(argv.indexOf('-discard:2')).toBeLessThan(argv.indexOf('-i'));
    expect(argv[argv.indexOf('-codec_whitelist') + 1]).not.toMatch(/srt|subrip/);
    const r = await run(files['subs']!, 'out.mkv');
    expect(r.code, JSON.stringify(r.o.violations)).toBe(0);
    const streams = (await ffprobeJson(path.join(sb.dir, 'out.mkv')))['streams'] as Array<{ codec_type: string }>;
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
  });

  test('raw arguments that map it make it a stream the job reads, judged by the codec rules', async () => {
    const r = await run(files['subs']!, 'raw.mkv', ['--', '-map', '0', '-c', 'copy']);
    expect(r.code).toBe(3);
    expect(r.o.violations.map((v) => v.rule)).toContain('input.codecs.subtitle');
  });

  test('an ignored stream carrying a playlist is still refused by the embedded-playlist scan', async () => {
    const c = await check(files['playlist']!);
    expect(c.exitCode).toBe(3);
    expect(c.violations.map((v) => v.rule)).toContain('input.embedded-playlist');
    const r = await run(files['playlist']!, 'playlist.mp4');
    expect(r.code).toBe(3);
    expect(r.o.violations.map((v) => v.rule)).toContain('input.embedded-playlist');
  });
});

describe('ffprobe diagnostics', () => {
  test('a damaged ID3 comment frame is recorded as a warning, and the audio transcodes', async () => {
    const c = await check(files['tag']!);
    expect(c.violations).toEqual([]);
    expect(c.warnings.map((w) => w.rule)).toEqual(['input.probe.metadata']);
    const r = await run(files['tag']!, 'tag.wav');
    expect(r.code, JSON.stringify(r.o.violations)).toBe(0);
  });
});
