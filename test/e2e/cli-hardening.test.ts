/**
 * The host-side findings of the red team that are not the sandbox itself, through the built
 * CLI: a bundled stage name never resolves to a file in the cwd; a log cut short with its
 * checkpoint deleted does not verify and is not re-sealed behind anyone's back; SIGTERM and
 * SIGINT mid-job kill the sandbox, record `interrupted` and publish nothing; a lock file naming
 * a live unrelated pid blocks nothing; untrusted strings never reach the terminal raw, and
 * records that do not verify are marked, never counted.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile, copyFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, makeSandbox, type CliResult, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';
import { makeRig, rigPolicy } from '../helpers/breach-rig.js';
import { allRecords, eventually, lastRecord, processesWith } from '../helpers/host-state.js';
import { encodeRecord } from '../../src/audit/record.js';
import { memoryKey } from '../helpers/audit-fixtures.js';

let sb: Sandbox;
let input: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-clihard-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
});
afterAll(async () => sb.cleanup());

function runIn(cwd: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: sb.env, timeout: 90_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, signal: null, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}

describe('-p NAME', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = path.join(sb.dir, 'cwd');
    await mkdir(cwd);
    // Planted where the job runs: permissive policies under the bundled stage names.
    const initial = await readFile(path.join(ROOT, 'policies', 'initial.yaml'), 'utf8');
    for (const name of ['optimal', 'advanced']) await writeFile(path.join(cwd, name), initial);
  });

  it('-p optimal with ./optimal in the cwd means the bundled optimal policy', async () => {
    const r = await runIn(cwd, ['--json', 'doctor', '-p', 'optimal']);
    const j = r.json<{ policy: { path: string; stage: string } }>();
    expect(j.policy.path).toBe(path.join(ROOT, 'policies', 'optimal.yaml'));
    expect(j.policy.stage).toBe('optimal');
  });

  it('-p advanced with ./advanced in the cwd runs under the bundled advanced policy, as its record says', async () => {
    const r = await runIn(cwd, ['--json', 'run', '-i', input, '-o', path.join(sb.dir, 'p.mp4'), '-p', 'advanced']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ policy: { path: string; stage: string } }>().policy).toMatchObject({ path: path.join(ROOT, 'policies', 'advanced.yaml'), stage: 'advanced' });
  });

  it('a file is named as a path; a bare name that is no stage is refused (exit 9) with the path to use', async () => {
    const asPath = await runIn(cwd, ['--json', 'policy', 'show', './advanced']);
    expect(asPath.code).toBe(0);
    expect(asPath.stdout).toMatch(/stage.{0,4}initial/);
    const bare = await runIn(cwd, ['--json', 'run', '-i', input, '-o', path.join(sb.dir, 'q.mp4'), '-p', 'mine']);
    expect(bare.code).toBe(9);
    expect(bare.json<{ hint: string }>().hint).toBe('to use a file, name it as a path: -p ./mine');
  });
});

describe('a log cut short with its checkpoint deleted', () => {
  it('does not verify (exit 8) unless --no-checkpoint; the writer refuses it; audit reseal recovers deliberately', async () => {
    const log = path.join(sb.dir, 'cut', 'audit.log');
    const env = { ZT_FFMPEG_AUDIT_LOG: log };
    for (const n of [1, 2]) expect((await sb.run(['run', '-i', input, '-o', path.join(sb.dir, `cut${n}.mp4`)], { env })).code).toBe(0);
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(4);
    await writeFile(log, lines.slice(0, 2).map((l) => `${l}\n`).join(''));
    await rm(`${log}.checkpoint`);
    const v = await sb.run(['audit', 'verify', log, '--key', sb.auditPub]);
    expect(v.code).toBe(8);
    expect(v.stderr).toMatch(/UNSEALED .*no checkpoint/);
    const alone = await sb.run(['audit', 'verify', log, '--key', sb.auditPub, '--no-checkpoint']);
    expect(alone.code, alone.stderr).toBe(0);
    // The next job does not re-seal it: exit 8, and it says how to recover.
    const job = await sb.run(['--json', 'run', '-i', input, '-o', path.join(sb.dir, 'cut3.mp4')], { env });
    expect(job.code).toBe(8);
    expect(job.json<{ hint: string }>().hint).toMatch(/audit verify .* --no-checkpoint.*audit reseal/);
    expect(existsSync(path.join(sb.dir, 'cut3.mp4'))).toBe(false);
    const seal = await sb.run(['audit', 'reseal', log], { env });
    expect(seal.code, seal.stderr).toBe(0);
    expect((await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'cut4.mp4')], { env })).code).toBe(0);
    expect((await sb.run(['audit', 'verify', log, '--key', sb.auditPub])).code).toBe(0);
  });
});

describe('signals mid-job', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s kills the sandboxed tree, records interrupted, removes the job dir, publishes nothing: exit %i', async (signal, code) => {
    const rig = await makeRig('hold');
    const policy = path.join(sb.dir, `hold-${signal}.yaml`);
    await writeFile(policy, rigPolicy(rig));
    const outDir = path.join(sb.dir, `sig-${signal}`);
    await mkdir(outDir);
    const before = (await allRecords(sb.auditLog)).length;
    const child = spawn(process.execPath, [BIN, '--json', 'run', '-i', input, '-o', path.join(outDir, 'out.mp4'), '-p', policy], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    // The decision record is written and the rig runs inside the sandbox (the job directory
    // exists from the inspection on, and posture runs the rig too: neither says the job is running).
    const decided = async (): Promise<boolean> => (await allRecords(sb.auditLog)).slice(before).some((e) => e['type'] === 'decision');
    expect(await eventually(async () => (await decided()) && (await processesWith(rig.path)).length > 0 && (await readdir(outDir)).length > 0, 60_000)).toBe(true);
    child.kill(signal);
    const exit = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    if (exit === 'hung') child.kill('SIGKILL');
    expect(exit).toBe(code);
    const j = JSON.parse(stdout) as { reason: string; exitCode: number };
    expect(j).toMatchObject({ reason: 'interrupted', exitCode: code });
    const rec = await lastRecord(sb.auditLog);
    expect(rec).toMatchObject({ type: 'result', verdict: 'failed', reason: 'interrupted', exitCode: code });
    expect(await readdir(outDir)).toEqual([]);
    expect(await processesWith(rig.path)).toEqual([]);
  });
});

describe('locks', () => {
  it('a lock file naming a live unrelated pid (pid 1) does not make the job wait: only a held kernel lock would', async () => {
    const log = path.join(sb.dir, 'locked', 'audit.log');
    await mkdir(path.dirname(log), { recursive: true });
    await writeFile(`${log}.lock`, JSON.stringify({ pid: 1, hostname: 'here', ts: new Date(0).toISOString(), nonce: 'x' }));
    const r = await sb.run(['--json', 'run', '-i', input, '-o', path.join(sb.dir, 'locked.mp4')], { env: { ZT_FFMPEG_AUDIT_LOG: log } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ timings: Record<string, number> }>().timings['audit']).toBeDefined();
  });
});

describe('untrusted strings and unverified records', () => {
  it('a file name with ESC[2K, CR and a newline is shown escaped by run and by audit show: no forged line', async () => {
    const evil = path.join(sb.dir, 'clip\u001b[2K\r\u2713 done forged\n.mp4');
    await copyFile(input, evil);
    const r = await sb.run(['run', '-i', evil, '-o', path.join(sb.dir, 'evil.mp4')]);
    expect(r.code, r.stderr).toBe(0);
    const show = await sb.run(['audit', 'show', '--last', '2']);
    expect(show.code).toBe(0);
    for (const out of [show.stdout, r.stderr]) {
      expect(out).not.toMatch(/[\u001b\r]/);
      expect(out.split('\n').some((l) => l.startsWith('\u2713 done forged'))).toBe(false);
    }
    expect(show.stdout).toContain('clip\\e[2K\\r\u2713 done forged\\n.mp4');
  });

  it('audit show marks a record whose signature does not verify, and audit stats counts it as unverified, not ok', async () => {
    const log = path.join(sb.dir, 'forged', 'audit.log');
    await mkdir(path.dirname(log));
    const env = { ZT_FFMPEG_AUDIT_LOG: log };
    expect((await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'f1.mp4')], { env })).code).toBe(0);
    const records = await allRecords(log);
    const last = (await readFile(log, 'utf8')).trim().split('\n').pop() ?? '';
    const prev = (await import('node:crypto')).createHash('sha256').update(last).digest('hex');
    // A record an intruder appended, signed by a key nobody trusts.
    const intruder = memoryKey('intruder');
    const forged = encodeRecord({ v: 1, seq: records.length, prev, ts: new Date().toISOString(), kid: intruder.keyId, event: { type: 'result', jobId: 'forged', verdict: 'ok', ok: true, operation: 'transcode' } }, [intruder]);
    await appendFile(log, forged.bytes);
    const show = await sb.run(['audit', 'show'], { env });
    const lines = show.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('UNVERIFIED'))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith('UNVERIFIED'))).toContain(`#${records.length} `);
    const stats = await sb.run(['--json', 'audit', 'stats'], { env });
    expect(stats.json<{ ok: number; unverified: number; signaturesChecked: boolean }>()).toMatchObject({ ok: 1, unverified: 1, signaturesChecked: true });
  });
});

describe('posture checks a binary before it ever runs', () => {
  it('an ffmpeg owned by another user is refused (exit 7, posture.ffmpeg.owner) and never executed, not even for --version', async () => {
    const dir = path.join(sb.dir, 'rogue');
    await mkdir(dir, { mode: 0o755 });
    const ran = path.join(dir, 'it-ran');
    const rogue = path.join(dir, 'ffmpeg');
    // Anything that executes it leaves a mark; a real check reads only its bytes and metadata.
    await writeFile(rogue, `#!/bin/sh\ntouch ${ran}\nexec /usr/bin/ffmpeg "$@"\n`, { mode: 0o755 });
    const { chown } = await import('node:fs/promises');
    await chown(rogue, 65534, 65534);
    const policy = path.join(sb.dir, 'rogue.yaml');
    await writeFile(policy, `apiVersion: zt-ffmpeg/v1\nextends: advanced\nallowLoosening: true\nstage: advanced\nmode: enforce\nposture:\n  binaries:\n    ffmpeg:\n      path: ${rogue}\n`);
    const r = await sb.run(['--json', 'run', '-p', policy, '-i', input, '-o', path.join(sb.dir, 'rogue-out.mp4')]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.json<{ violations: Array<{ rule: string }> }>().violations.map((v) => v.rule)).toContain('posture.ffmpeg.owner');
    expect(existsSync(ran), 'the refused binary was executed').toBe(false);
    const d = await sb.run(['doctor', '-p', policy]);
    expect(d.code).not.toBe(0);
    expect(existsSync(ran), 'doctor executed the refused binary').toBe(false);
  });
});
