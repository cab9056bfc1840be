/**
 * The bytes validated are the bytes decoded: after the sandboxed ffmpeg ends, the input's inode,
 * size and times are checked again and its bytes are read again against the keyed seal made
 * with its sha256 (src/util/seal.ts). An input changed in place while the job runs is refused
 * (exit 3, input.unchanged) and nothing is published; a large input that stays put is published
 * with the digest the record carries (and its large output is hashed on a worker thread).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, readFile, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { exec } from '../../src/util/exec.js';
import { ffmpeg, makeSample } from '../helpers/media.js';
import { makeRig, rigPolicy } from '../helpers/breach-rig.js';
import { allRecords, eventually, lastRecord } from '../helpers/host-state.js';
import { OFF_THREAD_MIN_BYTES } from '../../src/util/hash.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox('zt-unchanged-');
});
afterAll(async () => sb.cleanup());

const sha = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex');

/** Run `input` through the hold rig and flip one byte in its middle once the decision record is written. */
async function runAndRewrite(input: string, name: string): Promise<{ code: number; stderr: string; json: Record<string, unknown>; outDir: string }> {
  const size = (await stat(input)).size;
  // The real ffmpeg, then four seconds more inside the sandbox: the window to change the input in.
  const rig = await makeRig('hold');
  const policy = path.join(sb.dir, `${name}.yaml`);
  await writeFile(policy, rigPolicy(rig));
  const outDir = path.join(sb.dir, `out-${name}`);
  await mkdir(outDir);
  const before = (await allRecords(sb.auditLog)).length;
  const job = sb.run(['--json', 'run', '-i', input, '-o', path.join(outDir, 'out.mp4'), '-p', policy], { timeoutMs: 120_000 });
  // Once this job's decision record is written, inspection is over: what changes now, ffmpeg decodes.
  const decided = await eventually(async () => (await allRecords(sb.auditLog)).slice(before).some((e) => e['type'] === 'decision'), 60_000, 10);
  expect(decided, 'the job never wrote its decision record').toBe(true);
  const h = await open(input, 'r+');
  try {
    const at = Math.floor(size / 2);
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await h.write(b, 0, 1, at);
  } finally {
    await h.close();
  }
  const r = await job;
  return { code: r.code, stderr: r.stderr, json: r.json(), outDir };
}

describe('the input is re-checked after the sandboxed ffmpeg ends', () => {
  it('an input the sandbox reads in place, rewritten while ffmpeg runs (same inode, same size), is refused: exit 3, input.unchanged, nothing published', async () => {
    // A directory and file the sandbox user can reach: bound into the sandbox as they are.
    const shared = await mkdtemp(path.join(os.tmpdir(), 'zt-unchanged-shared-'));
    try {
      await chmod(shared, 0o755);
      const input = await makeSample(shared, 'h264-aac.mp4');
      await chmod(input, 0o644);
      const r = await runAndRewrite(input, 'in-place');
      expect(r.code, r.stderr).toBe(3);
      const rules = ((r.json['violations'] ?? []) as Array<{ rule: string }>).map((v) => v.rule);
      expect(rules).toContain('input.unchanged');
      expect(JSON.stringify(r.json)).toMatch(/changed while the job ran/);
      expect(await readdir(r.outDir), 'nothing published, no job directory left').toEqual([]);
      const rec = await lastRecord(sb.auditLog);
      expect(rec['type']).toBe('result');
      expect(JSON.stringify(rec['violations'])).toContain('input.unchanged');
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('an input the sandbox user cannot reach is decoded from a private copy: rewriting the original mid-job changes nothing, and the record has the validated digest', async () => {
    const input = await makeSample(sb.dir, 'h264-aac.mp4'); // under the test's 0700 directory
    const validated = await sha(input);
    const r = await runAndRewrite(input, 'private-copy');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha(input)).not.toBe(validated);
    const rec = await lastRecord(sb.auditLog);
    expect((rec['input'] as { sha256: string }).sha256).toBe(validated);
  });

  it.runIf(process.getuid?.() === 0)('a private copy that does not fit in TMPDIR is a sandbox failure (exit 7), never a shorter input: nothing published, nothing left', async () => {
    // About 300 KB that only root may read, so it is copied for the sandbox user; TMPDIR is a
    // 64 KiB tmpfs in a mount namespace of the job's own (the writes come up short, then fail).
    const input = path.join(sb.dir, 'root-only.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', input]);
    await chmod(input, 0o600);
    expect((await stat(input)).size).toBeGreaterThan(128 * 1024);
    const tiny = await mkdtemp(path.join(os.tmpdir(), 'zt-tiny-tmp-'));
    const outDir = path.join(sb.dir, 'out-tiny');
    await mkdir(outDir);
    try {
      const r = await exec('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"', 'sh', tiny, process.execPath, BIN, '--json', 'run', '-i', input, '-o', path.join(outDir, 'out.mp4')], { timeoutMs: 60_000, env: { ...sb.env, TMPDIR: tiny } });
      expect(r.exitCode, r.stderr).toBe(7);
      const j = JSON.parse(r.stdout) as { reason: string; message: string; hint: string };
      expect(j.reason).toBe('sandbox-unavailable');
      expect(j.message).toMatch(/cannot make the private copy/);
      expect(j.hint).toMatch(/TMPDIR/);
      expect(await readdir(outDir)).toEqual([]);
      expect(await readdir(tiny), 'the mount was the job\'s own: nothing reached this directory').toEqual([]);
      const rec = await lastRecord(sb.auditLog);
      expect(rec).toMatchObject({ type: 'refusal', reason: 'sandbox-unavailable' });
    } finally {
      await rm(tiny, { recursive: true, force: true });
    }
  });

  it(`an input of ${OFF_THREAD_MIN_BYTES / 1048576} MiB or more that stays put is published, with its digest and its output's (hashed on a worker thread) on record`, async () => {
    // Noise does not compress: lossless H.264 of random pixels is about 9 MB a second at 640x360.
    const input = path.join(sb.dir, 'large.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'nullsrc=s=640x360:r=25:d=4,geq=random(1)*255:128:128', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', input], 120_000);
    expect((await stat(input)).size).toBeGreaterThanOrEqual(OFF_THREAD_MIN_BYTES);
    const out = path.join(sb.dir, 'large.mkv');
    const r = await sb.run(['--json', 'run', '-i', input, '-o', out, '--operation', 'remux'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(out)).size).toBeGreaterThanOrEqual(OFF_THREAD_MIN_BYTES);
    const rec = await lastRecord(sb.auditLog);
    expect((rec['input'] as { sha256: string }).sha256).toBe(await sha(input));
    expect((rec['output'] as { sha256: string }).sha256).toBe(await sha(out));
  });
});
