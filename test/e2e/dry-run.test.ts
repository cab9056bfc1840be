/**
 * `run --dry-run` prints the exact prlimit, bwrap and ffmpeg command lines and the seccomp
 * profile that would run, and runs none of them: no decision record (no audit log at all), no
 * output, no job directory.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

let sb: Sandbox;
let input = '';
let strict = '';

beforeAll(async () => {
  sb = await makeSandbox('zt-dry-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
  const text = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
  strict = path.join(sb.dir, 'strict.yaml');
  await writeFile(strict, text.replace(/^ {2}seccomp: default$/m, '  seccomp: strict'));
});
afterAll(async () => sb.cleanup());

interface DryRun {
  argv: string[];
  commands: { prlimit: string[]; bwrap?: string[]; ffmpeg: string[] };
  shell: string;
  ffmpeg: string[];
  seccompProfile: { profile: string; sha256?: string; defaultAction?: string; denied?: string[]; allowed?: string[]; conditional?: string[] };
  sandbox: { seccomp: string; limits: Record<string, number>; grants: { fonts: boolean; gpu: boolean } };
}

async function dryRun(args: readonly string[]): Promise<{ code: number; j: { exitCode: number; verdict: string; dryRun: DryRun; audit: { seqs: number[] } }; outDir: string; out: string }> {
  const outDir = path.join(sb.dir, `out-${Math.random().toString(36).slice(2)}`);
  await mkdir(outDir);
  const out = path.join(outDir, 'out.mp4');
  const r = await sb.run(['--json', 'run', '--dry-run', '-i', input, '-o', out, ...args]);
  return { code: r.code, j: r.json(), outDir, out };
}

describe('run --dry-run', () => {
  it('prints the exact prlimit, bwrap and ffmpeg command lines and the seccomp profile, and runs nothing', async () => {
    const { code, j, outDir, out } = await dryRun([]);
    expect(code).toBe(0);
    expect(j.verdict).toBe('ok');
    const d = j.dryRun;
    // The three stages, which together are the argv that would be spawned.
    expect(d.commands.prlimit[0]).toBe('/usr/bin/prlimit');
    expect(d.commands.prlimit).toEqual(expect.arrayContaining(['--core=0', '--nofile=256', expect.stringMatching(/^--cpu=3600:\d+$/), `--as=${6144 * 1048576}`]));
    expect(d.commands.bwrap?.[0]).toBe('/usr/bin/bwrap');
    expect(d.commands.bwrap).toEqual(expect.arrayContaining(['--unshare-all', '--new-session', '--die-with-parent', '--clearenv', '--seccomp']));
    expect(d.commands.ffmpeg).toEqual(d.ffmpeg);
    expect(d.commands.ffmpeg[0]).toBe('/usr/bin/ffmpeg');
    expect(d.commands.ffmpeg.join(' ')).toContain('-protocol_whitelist file');
    expect([...d.commands.prlimit, ...(d.commands.bwrap ?? []), ...d.commands.ffmpeg]).toEqual(d.argv);
    expect(d.shell.startsWith('/usr/bin/prlimit ')).toBe(true);
    // The seccomp profile that would be loaded.
    expect(d.seccompProfile.profile).toBe('default');
    expect(d.seccompProfile.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(d.seccompProfile.denied).toEqual(expect.arrayContaining(['bpf', 'ptrace', 'mount']));
    expect(d.seccompProfile.conditional?.some((c) => c.startsWith('socket:'))).toBe(true);
    // Nothing ran: no audit log, no output, no job directory.
    expect(j.audit.seqs).toEqual([]);
    expect(existsSync(sb.auditLog)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(await readdir(outDir)).toEqual([]);
  });

  it('shows the strict allow-list profile when the policy asks for it', async () => {
    const { code, j } = await dryRun(['-p', strict]);
    expect(code).toBe(0);
    expect(j.dryRun.seccompProfile.profile).toBe('strict');
    expect(j.dryRun.seccompProfile.allowed).toEqual(expect.arrayContaining(['read', 'write', 'openat', 'futex']));
    expect(j.dryRun.seccompProfile.allowed).not.toContain('ptrace');
  });

  it('shows firewall-approved raw arguments in the ffmpeg line, and still runs nothing', async () => {
    const { code, j, outDir } = await dryRun(['--', '-c:v', 'libx264', '-crf', '31', '-an']);
    expect(code).toBe(0);
    expect(j.dryRun.commands.ffmpeg.join(' ')).toContain('-c:v libx264 -crf 31 -an');
    expect(await readdir(outDir)).toEqual([]);
    expect(existsSync(sb.auditLog)).toBe(false);
  });

  it('a refused request is refused in a dry run too (exit 3), and still nothing runs', async () => {
    const { code, j, outDir } = await dryRun(['--', '-vf', 'movie=/etc/passwd']);
    expect(code).toBe(3);
    expect(j.verdict).toBe('refused');
    expect(await readdir(outDir)).toEqual([]);
  });
});
