/**
 * The audit trail through the CLI: parallel jobs share one intact chain; kill -9 mid-job leaves
 * an unfinished job (not corruption) and no output; an unwritable log, a missing key and a full
 * disk each refuse the job with exit 8 and no output.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, readdir, mkdir, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { makeSandbox, BIN, type Sandbox } from '../helpers/cli.js';
import { makeSample, ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let wav: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-audit-cli-');
  wav = await makeSample(sb.dir, 'tone.wav');
});
afterAll(async () => sb.cleanup());

function events(text: string): Array<{ seq: number; event: { type: string; jobId: string } }> {
  return text.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { payload: { seq: number; event: { type: string; jobId: string } } }).payload);
}

describe('audit log through the CLI', () => {
  it('16 jobs launched in parallel leave one intact chain with all their records', async () => {
    const outDir = path.join(sb.dir, 'parallel');
    await mkdir(outDir);
    const before = existsSync(sb.auditLog) ? events(await readFile(sb.auditLog, 'utf8')).length : 0;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => sb.run(['run', '-i', wav, '-o', path.join(outDir, `p${i}.flac`), '--operation', 'transcode'], { timeoutMs: 180_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const recs = events(await readFile(sb.auditLog, 'utf8'));
    expect(recs.length - before).toBe(32);
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i));
    const byJob = new Map<string, string[]>();
    for (const r of recs.slice(before)) byJob.set(r.event.jobId, [...(byJob.get(r.event.jobId) ?? []), r.event.type]);
    expect(byJob.size).toBe(16);
    for (const types of byJob.values()) expect(types).toEqual(['decision', 'result']);
    const v = await sb.run(['audit', 'verify', sb.auditLog, '--key', sb.auditPub]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('kill -9 mid-job: verify reports an unfinished job, no corruption; the next job appends fine; no output', async () => {
    const slow = path.join(sb.dir, 'slow.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', slow]);
    const out = path.join(sb.dir, 'killed.mp4');
    // A tag of this test's own in ffmpeg's argv, so the check for survivors sees only this job's processes.
    const tag = `zt-kill9-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, [BIN, 'run', '-i', slow, '-o', out, '--', '-c:v', 'libx264', '-preset', 'veryslow', '-an', '-metadata', `comment=${tag}`], { env: sb.env, stdio: 'ignore' });
    const before = existsSync(sb.auditLog) ? (await readFile(sb.auditLog, 'utf8')).length : 0;
    // Wait for the decision record: ffmpeg starts right after it.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const text = existsSync(sb.auditLog) ? await readFile(sb.auditLog, 'utf8') : '';
      if (text.length > before && text.slice(before).includes('"decision"')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // bwrap --die-with-parent takes the sandboxed tree down with it (a bounded wait, not a timing).
    const strays = (): string[] => execFileSync('/usr/bin/ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(tag));
    for (let i = 0; i < 200 && strays().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(strays()).toEqual([]);
    expect(existsSync(out)).toBe(false);
    const v = await sb.run(['audit', 'verify', sb.auditLog, '--key', sb.auditPub, '--json']);
    expect(v.code, v.stderr).toBe(0);
    const report = v.json<{ ok: boolean; logs: Array<{ unfinishedJobs: string[] }> }>();
    expect(report.ok).toBe(true);
    expect(report.logs[0]!.unfinishedJobs.length).toBe(1);
    // The next job appends fine, and sweeps the dead job's directory.
    const next = await sb.run(['run', '-i', wav, '-o', path.join(sb.dir, 'after-kill.wav')]);
    expect(next.code, next.stderr).toBe(0);
    expect((await readdir(sb.dir)).filter((e) => e.startsWith('.zt-ffmpeg-job-'))).toEqual([]);
    const v2 = await sb.run(['audit', 'verify', sb.auditLog, '--key', sb.auditPub]);
    expect(v2.code, v2.stderr).toBe(0);
  });

  it('an unwritable audit log refuses the job (exit 8) and writes no output', async () => {
    // Root ignores permission bits; a log whose parent is a regular file cannot be created by anyone.
    const blocker = path.join(sb.dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const out = path.join(sb.dir, 'unwritable.wav');
    const r = await sb.run(['--audit-log', path.join(blocker, 'audit.log'), 'run', '-i', wav, '-o', out]);
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/ENOTDIR|audit/);
    expect(existsSync(out)).toBe(false);
  });

  it('a missing key at a stage that forbids generating one refuses the job (exit 8)', async () => {
    const policy = path.join(sb.dir, 'provisioned.yaml');
    const base = await readFile(path.join(import.meta.dirname, '../../policies/advanced.yaml'), 'utf8');
    await writeFile(policy, base.replace('  requireProvisionedKey: false', '  requireProvisionedKey: true'));
    const out = path.join(sb.dir, 'nokey.wav');
    const r = await sb.run(['--audit-key', path.join(sb.dir, 'absent', 'audit.key'), 'run', '-i', wav, '-o', out, '-p', policy]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('zt-ffmpeg keygen');
    expect(existsSync(out)).toBe(false);
  });

  it('a group-readable key is refused (exit 8)', async () => {
    const dir = path.join(sb.dir, 'loose');
    const k = await sb.run(['keygen', '--out', dir]);
    expect(k.code, k.stderr).toBe(0);
    await chmod(path.join(dir, 'audit.key'), 0o640);
    const out = path.join(sb.dir, 'loose.wav');
    const r = await sb.run(['--audit-key', path.join(dir, 'audit.key'), 'run', '-i', wav, '-o', out]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('chmod 600');
    expect(existsSync(out)).toBe(false);
  });

  it('a full disk under the audit log refuses the job (exit 8) and writes no output', async () => {
    // A private mount namespace with a tiny tmpfs holding the log, filled up before the job.
    const out = path.join(sb.dir, 'full.wav');
    const script = [
      'set -e',
      'mount -t tmpfs -o size=64k tmpfs "$FULL"',
      'dd if=/dev/zero of="$FULL/filler" bs=4k count=64 2>/dev/null || true',
      `exec "${process.execPath}" "${BIN}" --audit-log "$FULL/audit.log" run -i "${wav}" -o "${out}"`,
    ].join('\n');
    const full = path.join(sb.dir, 'fulldisk');
    await mkdir(full);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], { env: { ...sb.env, FULL: full }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const t = setTimeout(() => c.kill('SIGKILL'), 60_000);
      c.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/ENOSPC|no space/i);
    expect(existsSync(out)).toBe(false);
  });
});
