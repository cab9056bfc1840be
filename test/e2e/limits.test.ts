/**
 * Resource limits from the policy, end to end through the CLI: a memory hog, a CPU-time hog, a
 * job past its wall clock, an oversized output and a thread fan-out are each killed with exit 5
 * and the limit named; nothing reaches the destination, no job directory or process of the tree
 * is left behind, and the audit log holds the result record with the breach.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let input = '';

beforeAll(async () => {
  sb = await makeSandbox('zt-limits-');
  input = path.join(sb.dir, 'in.mp4');
  // 4 s of 640x360: heavy enough with -preset veryslow to outlast a 1 s CPU or 2 s wall limit.
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
});
afterAll(async () => sb.cleanup());

/** A copy of the bundled advanced policy with some limits lowered. */
async function policyWith(name: string, limits: Record<string, number>): Promise<string> {
  let text = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
  for (const [k, v] of Object.entries(limits)) {
    const re = new RegExp(`^(  ${k}: )\\S+`, 'm');
    expect(re.test(text), `policies/advanced.yaml has no limits.${k}`).toBe(true);
    text = text.replace(re, `$1${v}`);
  }
  const file = path.join(sb.dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

interface AuditEvent {
  type: string;
  jobId?: string;
  verdict?: string;
  violations?: Array<{ rule: string }>;
  run?: { breach?: { rule: string }; leftBehind?: number };
}

async function auditEvents(): Promise<AuditEvent[]> {
  const text = await readFile(sb.auditLog, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { payload: { event: AuditEvent } }).payload.event);
}

/** Live (non-zombie) processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const st = await readFile(`/proc/${e}/stat`, 'utf8');
      if (/\) Z /.test(st)) continue;
      const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(marker) && !cmd.includes('vitest')) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

interface Case {
  readonly name: string;
  readonly limits: Record<string, number>;
  readonly rule: string;
  readonly ext: string;
  readonly args: readonly string[];
}

const SLOW = ['-c:v', 'libx264', '-preset', 'veryslow', '-an'];

const CASES: readonly Case[] = [
  // 64 MiB of address space: ffmpeg cannot even map its libraries.
  { name: 'memory hog', limits: { addressSpaceMiB: 64 }, rule: 'limits.addressSpaceMiB', ext: 'mp4', args: [] },
  { name: 'CPU-time hog', limits: { cpuSeconds: 1 }, rule: 'limits.cpuSeconds', ext: 'mp4', args: SLOW },
  // Upscaled to 720p with veryslow: tens of seconds of work, against a wall clock of 1 s.
  { name: 'job past its wall clock', limits: { wallSeconds: 1 }, rule: 'limits.wallSeconds', ext: 'mp4', args: [...SLOW, '-vf', 'scale=1280:720'] },
  // PNG frames in Matroska: several MiB for 4 s, over a 1 MiB file-size limit. ffmpeg is the
  // sandbox's pid 1, so its write fails with EFBIG (no SIGXFSZ): the host reads the output's size.
  { name: 'oversized output', limits: { outputMaxMiB: 1 }, rule: 'limits.outputMaxMiB', ext: 'mkv', args: ['-c:v', 'png', '-an'] },
  // The kernel's task ceiling (2) refuses ffmpeg's second thread, or the monitor sees 3 first.
  { name: 'thread fan-out', limits: { maxThreads: 2 }, rule: 'limits.maxThreads', ext: 'mp4', args: SLOW },
];

describe('resource limits from the policy', () => {
  for (const c of CASES) {
    it(`${c.name}: exit 5 naming ${c.rule}, nothing published, nothing left behind, the breach audited`, async () => {
      const policy = await policyWith(c.name.replace(/\W+/g, '-'), c.limits);
      const marker = `zt-limit-${c.name.replace(/\W+/g, '')}-${process.pid}`;
      const outDir = path.join(sb.dir, marker);
      await mkdir(outDir);
      const out = path.join(outDir, `out.${c.ext}`);
      // A unique word on ffmpeg's command line, to find any process of this job afterwards.
      const args = c.args.length > 0 ? [...c.args, '-metadata', `comment=${marker}`] : [];
      const r = await sb.run(['--json', 'run', '-p', policy, '-i', input, '-o', out, ...(args.length > 0 ? ['--', ...args] : [])], { timeoutMs: 90_000 });
      const j = r.json<{ exitCode: number; reason: string; jobId: string; violations: Array<{ rule: string }>; run?: { breach?: { rule: string } } }>();
      expect(r.code, r.stderr + r.stdout).toBe(5);
      expect(j.exitCode).toBe(5);
      expect(['limit-breached', 'killed-by-monitor']).toContain(j.reason);
      expect(j.violations.map((v) => v.rule)).toContain(c.rule);

      // Nothing at the destination, no job directory, no process of the tree.
      expect(existsSync(out)).toBe(false);
      expect(await readdir(outDir)).toEqual([]);
      expect(await processesWith(marker)).toEqual([]);

      // The audit log: a decision before ffmpeg started, and the result with the breach.
      const events = (await auditEvents()).filter((e) => e.jobId === j.jobId);
      expect(events.map((e) => e.type)).toEqual(['decision', 'result']);
      const result = events[1]!;
      expect(result.verdict).toBe('failed');
      expect(result.violations?.map((v) => v.rule)).toContain(c.rule);
      if (j.run?.breach) expect(result.run?.breach?.rule).toBe(c.rule);
      // The supervisor's own count of survivors (recorded once the pipeline passes it on).
      if (result.run?.leftBehind !== undefined) expect(result.run.leftBehind).toBe(0);
    });
  }
});
