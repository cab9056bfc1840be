/**
 * Assume ffmpeg is breached: a stand-in that runs the real ffmpeg and then does what an owned
 * decoder would (test/helpers/breach-rig.ts), named as ffmpeg by the test policy, run as root's
 * job. For each misbehaviour: the documented exit code, a result record naming the reason,
 * nothing published, nothing outside the job dir changed (a root-only secret stays unread and
 * unchanged, the output directory holds nothing), no process left.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { makeSample, ffprobeJson } from '../helpers/media.js';
import { makeRig, rigPolicy, type RigMode, type Rig } from '../helpers/breach-rig.js';
import { eventually, lastRecord, processesWith } from '../helpers/host-state.js';

let sb: Sandbox;
let input: string;
let secret: string;
let secretSha: string;
let corePattern: string;

const sha = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex');

beforeAll(async () => {
  sb = await makeSandbox('zt-breach-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
  secret = path.join(sb.dir, 'root-only-secret');
  await writeFile(secret, 'the root-only secret\n', { mode: 0o600 });
  secretSha = await sha(secret);
  corePattern = await readFile('/proc/sys/kernel/core_pattern', 'utf8');
});
afterAll(async () => sb.cleanup());

interface Ran {
  readonly code: number;
  readonly json: Record<string, unknown>;
  readonly record: Record<string, unknown>;
  readonly outDir: string;
  readonly out: string;
  readonly rig: Rig;
  readonly stderr: string;
}

async function runRig(mode: RigMode, extra = '', ext = 'mp4'): Promise<Ran> {
  const rig = await makeRig(mode, secret);
  const policy = path.join(sb.dir, `${mode}.yaml`);
  await writeFile(policy, rigPolicy(rig, extra));
  const outDir = path.join(sb.dir, `out-${mode}`);
  await mkdir(outDir);
  const out = path.join(outDir, `out.${ext}`);
  const r = await sb.run(['--json', 'run', '-i', input, '-o', out, '-p', policy], { timeoutMs: 120_000 });
  return { code: r.code, json: r.json(), record: await lastRecord(sb.auditLog), outDir, out, rig, stderr: r.stderr };
}

/** Nothing published, nothing left in the output directory, the secret untouched, no process left. */
async function contained(r: Ran): Promise<void> {
  expect(await readdir(r.outDir), 'the output directory holds nothing: no output, no job dir, no planted file').toEqual([]);
  expect(await sha(secret)).toBe(secretSha);
  expect(JSON.stringify(r.record)).not.toContain('the root-only secret');
  expect(r.record['output']).toBeUndefined();
  expect(await eventually(async () => (await processesWith(r.rig.marker)).length + (await processesWith(r.rig.path)).length === 0, 10_000), 'no process of the rig survives').toBe(true);
  expect(r.record['type']).toBe('result');
}

describe('a compromised ffmpeg tries to leave something else than its output', () => {
  it.each([
    ['symlink', 'a symbolic link to a root-only file'],
    ['fifo', 'a FIFO (that would block the host in open)'],
    ['directory', 'a directory (that used to crash the host)'],
    ['hardlink', 'a second link to the output, or a link to the secret'],
  ] as const)('%s: %s, at the output\'s host path: the sandbox has no path to it; exit 6, nothing published', async (mode) => {
    const r = await runRig(mode);
    expect(r.code, r.stderr).toBe(6);
    expect(r.record['reason']).toBe('ffmpeg-failed');
    const tail = String((r.record['run'] as { stderrTail?: string } | undefined)?.stderrTail ?? '');
    // The rig's own report of what the kernel told it.
    expect(tail).toMatch(new RegExp(`rig: ${mode}: prevented: .*(No such file or directory|Read-only file system|Invalid cross-device link|Permission denied)`));
    await contained(r);
  });
});

describe('every writable place is bounded', () => {
  it('fills the job dir (301 files beside the output, then the output past outputMaxMiB): exit 5 limits.outputMaxMiB, nothing published', async () => {
    const r = await runRig('fill-output');
    expect(r.code, r.stderr).toBe(5);
    expect(r.record['reason']).toBe('limit-breached');
    expect((r.record['violations'] as Array<{ rule: string }>).map((v) => v.rule)).toContain('limits.outputMaxMiB');
    await contained(r);
  });

  it('fills /dev/shm (400 MiB under tmpfsMiB 16): bounded, and the job is killed for it: exit 5 sandbox.tmpfsMiB', async () => {
    const r = await runRig('fill-shm');
    expect(r.code, r.stderr).toBe(5);
    expect(r.record['reason']).toBe('limit-breached');
    expect((r.record['violations'] as Array<{ rule: string; actual: string }>)).toEqual([expect.objectContaining({ rule: 'sandbox.tmpfsMiB', actual: '/dev/shm full' })]);
    await contained(r);
  });
});

describe('the host stays out of reach', () => {
  it('a host-global sysctl (kernel.core_pattern) cannot be written: /proc/sys is absent and the uid unprivileged; exit 6', async () => {
    const r = await runRig('sysctl');
    expect(r.code, r.stderr).toBe(6);
    expect(String((r.record['run'] as { stderrTail?: string }).stderrTail)).toMatch(/rig: sysctl: prevented: .*(No such file|Permission denied|Read-only)/);
    expect(await readFile('/proc/sys/kernel/core_pattern', 'utf8')).toBe(corePattern);
    await contained(r);
  });

  it('a payload hidden inside the media data (mdat grown over it, the file still framed box by box): exit 6 output.structure, nothing published', async () => {
    const r = await runRig('grow-mdat');
    expect(r.code, r.stderr).toBe(6);
    expect(r.record['reason']).toBe('ffmpeg-failed');
    const v = (r.record['violations'] as Array<{ rule: string; actual: string }>).find((x) => x.rule === 'output.structure');
    expect(v?.actual).toMatch(/^1100 of the \d+ bytes of media data \(mdat\) belong to no sample/);
    await contained(r);
  });

  it('an MP3 with cover art where the operation promised sound only: the host reader leaves it to the sandboxed probe, which finds the picture; exit 6, nothing published', async () => {
    const r = await runRig('cover-art', '', 'mp3');
    expect(r.code, r.stderr).toBe(6);
    expect(r.record['reason']).toBe('ffmpeg-failed');
    // The probe runs with the promised decoders only (mp3): the picture's mjpeg is refused there.
    const v = (r.record['violations'] as Array<{ rule: string; actual: string }>).find((x) => x.rule === 'output.probe');
    expect(v?.actual).toMatch(/Codec \(mjpeg\) not on whitelist/);
    await contained(r);
  });

  it('children left running to write into the output after it was checked die with the tree: what is published is ffmpeg\'s output', async () => {
    const r = await runRig('children');
    // The rig claims success and its output is genuine: it is published, untouched by the child.
    expect(r.code, r.stderr).toBe(0);
    const published = await readFile(r.out);
    expect(published.subarray(-5).toString()).not.toBe('EVIL\n');
    expect(createHash('sha256').update(published).digest('hex')).toBe((r.json['output'] as { sha256: string }).sha256);
    expect(((await ffprobeJson(r.out))['format'] as { format_name: string }).format_name).toMatch(/mp4/);
    expect(await processesWith(r.rig.marker)).toEqual([]);
    expect((await readdir(r.outDir)).sort()).toEqual(['out.mp4']);
  });

  it('a stderr flood (80 MiB) ends the job with a documented code and its result record; no process left', async () => {
    const r = await runRig('stderr-flood');
    // How much stderr a job may write is issue 13's budget; whatever it decides, the job ends cleanly.
    expect([0, 5, 6], r.stderr).toContain(r.code);
    expect(r.record['type']).toBe('result');
    expect(r.record['exitCode']).toBe(r.code);
    if (r.code === 0) expect(((await ffprobeJson(r.out))['format'] as { format_name: string }).format_name).toMatch(/mp4/);
    else await contained(r);
    expect(await processesWith(r.rig.path)).toEqual([]);
  });
});

describe('seen from the host while the sandboxed ffmpeg of root\'s job runs', () => {
  it('its Uid is not 0, and /proc/sys and /dev are read-only mounts in its mountinfo', async () => {
    const rig = await makeRig('hold', secret);
    const policy = path.join(sb.dir, 'hold.yaml');
    await writeFile(policy, rigPolicy(rig));
    const out = path.join(sb.dir, 'hold.mp4');
    const job = sb.run(['run', '-i', input, '-o', out, '-p', policy], { timeoutMs: 120_000 });
    let status = '';
    let mountinfo = '';
    // The rig's shell inside the sandbox: its command line names the rig.
    await eventually(async () => {
      for (const pid of await processesWith(rig.path)) {
        const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        // Inside the sandbox (its own user namespace), not a listing of the binary on the host.
        const ns = await readlink(`/proc/${pid}/ns/user`).catch(() => '');
        if (cmd[0] !== '/bin/sh' || cmd[1] !== rig.path || ns === (await readlink('/proc/self/ns/user'))) continue;
        status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
        if (status && mountinfo) return true;
      }
      return false;
    }, 60_000, 10);
    const r = await job;
    expect(status, `never saw the rig; run exit ${r.code}: ${r.stderr}`).not.toBe('');
    const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(status);
    expect(uids).not.toBeNull();
    for (const u of uids!.slice(1)) expect(Number(u)).not.toBe(0);
    expect(status).toMatch(/^Groups:\s*$/m);
    const mount = (p: string): string | undefined => mountinfo.split('\n').find((l) => l.split(' ')[4] === p);
    expect(mount('/proc/sys')).toMatch(/ ro[, ]/);
    expect(mount('/dev')).toMatch(/ ro[, ]/);
    expect(mount('/')).toMatch(/ ro[, ]/);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('descriptors the caller leaks', () => {
  it('a file the caller holds open without close-on-exec (a CI runner, `exec 33<secret`) never reaches the sandbox', async () => {
    const { spawn } = await import('node:child_process');
    const { open } = await import('node:fs/promises');
    const { BIN } = await import('../helpers/cli.js');
    const rig = await makeRig('fds', secret);
    const policy = path.join(sb.dir, 'fds.yaml');
    await writeFile(policy, rigPolicy(rig));
    const outDir = path.join(sb.dir, 'out-fds');
    await mkdir(outDir);
    const leaked = await open(secret, 'r');
    try {
      // The child's fd 33 is the secret, inherited (spawn passes it without close-on-exec).
      const stdio = ['ignore', 'pipe', 'pipe', ...Array.from({ length: 30 }, () => 'ignore' as const), leaked.fd] as const;
      const child = spawn(process.execPath, [BIN, '--json', 'run', '-i', input, '-o', path.join(outDir, 'out.mp4'), '-p', policy], { env: sb.env, stdio: [...stdio] });
      let stdout = '';
      child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, stdout).toBe(6);
      const tail = JSON.stringify((await lastRecord(sb.auditLog))['details'] ?? {});
      // The rig listed what it holds: its input, its output and nothing else of the host's.
      expect(tail).toMatch(/rig: fd 4 -> /);
      expect(tail).not.toMatch(/rig: fd 33 /);
      expect(tail).not.toContain(secret);
    } finally {
      await leaked.close();
    }
  });
});
