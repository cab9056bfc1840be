/**
 * The whole job, end to end, through the built CLI: real ffmpeg, ffprobe, bwrap, real files,
 * real signatures.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, symlink, readdir, mkdir, stat } from 'node:fs/promises';
import { existsSync, watch } from 'node:fs';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { makeSample, ffprobeJson } from '../helpers/media.js';

let sb: Sandbox;
let media: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-run-');
  media = path.join(sb.dir, 'media');
  await mkdir(media);
});
afterAll(async () => sb.cleanup());

async function jobDirsLeft(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((e) => e.startsWith('.zt-ffmpeg-job-'));
}

/** Every job directory made in `dir` while `f` runs (inotify sees them even if they are gone by the end). */
async function jobDirsMadeDuring<T>(dir: string, f: () => Promise<T>): Promise<{ made: string[]; value: T }> {
  const made: string[] = [];
  // A leftover of an earlier test that this job's sweep removes is not one it made.
  const before = new Set(await jobDirsLeft(dir));
  const w = watch(dir, (_, name) => {
    if (typeof name === 'string' && name.startsWith('.zt-ffmpeg-job-') && !before.has(name) && !made.includes(name)) made.push(name);
  });
  try {
    const value = await f();
    // The CLI has exited; let the watcher's last events arrive.
    await new Promise((r) => setTimeout(r, 100));
    return { made, value };
  } finally {
    w.close();
  }
}

describe('zt-ffmpeg run', () => {
  it.each([
    ['h264-aac.mp4', 'out-mp4.mp4', 'h264'],
    ['vp9-opus.webm', 'out-webm.webm', 'vp9'],
    ['tone.wav', 'out-wav.wav', 'pcm_s16le'],
  ])('transcodes %s into a valid %s', async (sample, outName, codec) => {
    const input = await makeSample(media, sample);
    const out = path.join(sb.dir, outName);
    const r = await sb.run(['run', '-i', input, '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ verdict: string; output: { sha256: string; path: string }; audit: { seqs: number[] } }>();
    expect(j.verdict).toBe('ok');
    expect(j.output.path).toBe(out);
    expect(j.audit.seqs).toHaveLength(2);
    const probe = await ffprobeJson(out);
    const streams = probe['streams'] as Array<{ codec_name: string }>;
    expect(streams.map((s) => s.codec_name)).toContain(codec);
    expect(await jobDirsLeft(sb.dir)).toEqual([]);
  });


  it('writes a decision record before and a result record after, and the chain verifies', async () => {
    const r = await sb.run(['audit', 'verify', sb.auditLog, '--key', sb.auditPub, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ ok: boolean }>().ok).toBe(true);
    const lines = (await readFile(sb.auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { payload: { seq: number; event: { type: string; jobId: string } } });
    const types = lines.map((l) => l.payload.event.type);
    expect(types.filter((t) => t === 'decision').length).toBe(types.filter((t) => t === 'result').length);
    const firstJob = lines[0]!.payload.event.jobId;
    expect(lines.filter((l) => l.payload.event.jobId === firstJob).map((l) => l.payload.event.type)).toEqual(['decision', 'result']);
  });

  it('refuses an HLS playlist renamed .mp4 with exit 3, writes no output and makes no job directory', async () => {
    const fake = path.join(media, 'playlist.mp4');
    await writeFile(fake, '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n');
    const out = path.join(sb.dir, 'hls-out.mp4');
    // The control: the watcher does see the job directory of a job that runs.
    const good = await makeSample(media, 'h264-aac.mp4');
    const control = await jobDirsMadeDuring(sb.dir, () => sb.run(['run', '-i', good, '-o', path.join(sb.dir, 'watched.mp4'), '--json']));
    expect(control.value.code, control.value.stderr).toBe(0);
    expect(control.made).toHaveLength(1);
    const { made, value: r } = await jobDirsMadeDuring(sb.dir, () => sb.run(['run', '-i', fake, '-o', out, '--json']));
    // Refused on its bytes: not even a job directory was made beside the destination.
    expect(made).toEqual([]);
    expect(r.code).toBe(3);
    const j = r.json<{ verdict: string; violations: Array<{ rule: string }> }>();
    expect(j.verdict).toBe('refused');
    expect(j.violations.map((v) => v.rule)).toContain('input.magic');
    expect(existsSync(out)).toBe(false);
    expect(await jobDirsLeft(sb.dir)).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain('root:x:0');
  });

  it('refuses a symlink as input', async () => {
    const real = await makeSample(media, 'tone.flac');
    const link = path.join(media, 'link.flac');
    await symlink(real, link);
    const out = path.join(sb.dir, 'link-out.wav');
    const r = await sb.run(['run', '-i', link, '-o', out, '--json']);
    expect(r.code).toBe(3);
    expect(r.json<{ violations: Array<{ rule: string; actual: string }> }>().violations[0]).toMatchObject({ rule: 'input.regular-file', actual: 'symlink' });
    expect(existsSync(out)).toBe(false);
    // The job directory is made while the input is inspected: a refusal this early removes it too.
    expect(await jobDirsLeft(sb.dir)).toEqual([]);
  });

  it('refuses a policy with a typo, naming file, line and column (exit 9)', async () => {
    const text = (await readFile(path.join(import.meta.dirname, '../../policies/advanced.yaml'), 'utf8')).replace('  maxWidth: 7680', '  maxWidht: 7680');
    const policyFile = path.join(sb.dir, 'typo.yaml');
    await writeFile(policyFile, text);
    const line = text.split('\n').findIndex((l) => l.includes('maxWidht')) + 1;
    const input = path.join(media, 'tone.wav');
    const out = path.join(sb.dir, 'typo-out.wav');
    const r = await sb.run(['run', '-i', input, '-o', out, '-p', policyFile]);
    expect(r.code).toBe(9);
    expect(r.stderr).toContain(`${policyFile}:${line}:3`);
    expect(r.stderr).toContain('unknown field "maxWidht"');
    expect(r.stderr).toContain('did you mean "maxWidth"');
    expect(existsSync(out)).toBe(false);
  });

  it('never overwrites an existing output unless --overwrite', async () => {
    const input = path.join(media, 'tone.wav');
    const out = path.join(sb.dir, 'exists.wav');
    await writeFile(out, 'precious');
    const r = await sb.run(['run', '-i', input, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--overwrite');
    expect(await readFile(out, 'utf8')).toBe('precious');
    const r2 = await sb.run(['run', '-i', input, '-o', out, '--overwrite']);
    expect(r2.code, r2.stderr).toBe(0);
    expect((await stat(out)).size).toBeGreaterThan(1000);
  });

  it('a failed ffmpeg run (exit 6) leaves nothing at the destination', async () => {
    const input = path.join(media, 'h264-aac.mp4');
    const out = path.join(sb.dir, 'fail.mp4');
    // A valid option with an impossible value: ffmpeg itself fails inside the sandbox.
    const r = await sb.run(['run', '-i', input, '-o', out, '--json', '--', '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv444p', '-c:a', 'aac']);
    expect(r.code, r.stderr).toBe(6);
    expect(existsSync(out)).toBe(false);
    expect(await jobDirsLeft(sb.dir)).toEqual([]);
  });

  it('flipping one byte of the audit log makes audit verify fail and name the record', async () => {
    const copy = path.join(sb.dir, 'tampered.log');
    const bytes = await readFile(sb.auditLog);
    const lines = bytes.toString('utf8').split('\n');
    const target = 2; // 1-based line 2
    const offset = lines.slice(0, target - 1).join('\n').length + 1 + lines[target - 1]!.indexOf('"input"') + 12;
    bytes[offset] = bytes[offset]! ^ 0x01;
    await writeFile(copy, bytes);
    const r = await sb.run(['audit', 'verify', copy, '--key', sb.auditPub, '--json']);
    expect(r.code).toBe(8);
    const j = r.json<{ ok: boolean; logs: Array<{ firstBad: { line: number; fault: string } }> }>();
    expect(j.ok).toBe(false);
    expect(j.logs[0]!.firstBad.line).toBe(target);
    const human = await sb.run(['audit', 'verify', copy, '--key', sb.auditPub]);
    expect(human.stderr).toContain(`line ${target}`);
  });
});
