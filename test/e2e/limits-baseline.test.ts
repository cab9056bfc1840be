/**
 * The learned baseline, end to end: result records carry what the baseline learns from
 * (operation target and media seconds); a baseline seeded into the audit log (properly signed
 * and chained records claiming an absurdly fast history) reaches the monitor of the next job of
 * that operation; with onSlowJob: kill, a job far above it is killed with exit 5 and nothing of
 * it is left.
 *
 * No timed assertions. Whether a finished job is flagged depends on how long it took, so that
 * is tested on the pure decision functions (test/unit/monitor.test.ts) and with a stand-in that
 * sleeps past the deadline (test/unit/supervise-streams.test.ts). The kill here cannot race: the
 * slow-job deadline is its floor (MIN_SLOW_KILL_MS, 2 s), and the input is three hours of 1080p
 * (270,000 frames, ~10 ms of CPU each to transcode): no machine finishes it in 2 s.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { ffmpeg, makeSample } from '../helpers/media.js';
import { loadSigningKey } from '../../src/keys/index.js';
import { openAuditLog } from '../../src/audit/writer.js';

let sb: Sandbox;
let small = '';
let heavy = '';
let killPolicy = '';

interface Event {
  type: string;
  jobId?: string;
  verdict?: string;
  run?: { baselineKey?: string; mediaSeconds?: number; anomalies?: Array<{ kind: string; action: string }>; leftBehind?: number };
  sandbox?: { baseline?: { key: string; samples: number; wallMsPerMediaSecond: number } };
}

async function eventsOf(jobId: string): Promise<Event[]> {
  return (await readFile(sb.auditLog, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { payload: { event: Event } }).payload.event)
    .filter((e) => e.jobId === jobId);
}

beforeAll(async () => {
  sb = await makeSandbox('zt-baseline-');
  small = await makeSample(sb.dir, 'h264-aac.mp4');
  // Three hours of flat 1080p: 10 s encoded once, then looped by stream copy (a second or two,
  // ~12 MB), so that the job is long in work but cheap to make.
  const ten = path.join(sb.dir, 'ten.mp4');
  heavy = path.join(sb.dir, 'heavy.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=1920x1080:r=25:d=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', '-pix_fmt', 'yuv420p', ten], 120_000);
  await ffmpeg(['-stream_loop', '1079', '-i', ten, '-c', 'copy', heavy], 120_000);
  const text = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
  expect(text).toMatch(/^ {2}onSlowJob: warn$/m);
  killPolicy = path.join(sb.dir, 'slow-kill.yaml');
  await writeFile(killPolicy, text.replace(/^ {2}onSlowJob: warn$/m, '  onSlowJob: kill'));
}, 180_000);
afterAll(async () => sb.cleanup());

describe('the learned baseline', () => {
  it('a result record carries the baseline key and media seconds; with no history nothing is flagged', async () => {
    const r = await sb.run(['--json', 'run', '-i', small, '-o', path.join(sb.dir, 'first.mp4')]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ jobId: string; warnings: Array<{ rule: string }> }>();
    expect(j.warnings.map((w) => w.rule)).not.toContain('monitor.slow-job');
    const result = (await eventsOf(j.jobId)).find((e) => e.type === 'result');
    expect(result?.run?.baselineKey).toBe('transcode.mp4');
    expect(result?.run?.mediaSeconds).toBeCloseTo(1, 0);
    expect(result?.run?.leftBehind).toBe(0);
  });

  it('seeded with a fast history, the next job of the operation runs against that baseline', async () => {
    const key = await loadSigningKey(sb.auditKey, { autoGenerate: false });
    const w = await openAuditLog({ logPath: sb.auditLog, key, lockTimeoutMs: 30_000 });
    // 1 ms per 10,000 media seconds: any real job is far above it.
    for (let i = 0; i < 3; i++) {
      await w.append({ type: 'result', jobId: `seed-${i}`, verdict: 'ok', operation: 'transcode', run: { wallMs: 1, peaks: { cpuMs: 1 }, mediaSeconds: 10_000, baselineKey: 'transcode.mp4' } });
    }
    await w.close();
    const out = path.join(sb.dir, 'seeded.mp4');
    const r = await sb.run(['--json', 'run', '-i', small, '-o', out], { timeoutMs: 180_000 });
    // onSlowJob: warn: flagged or not (that depends on the clock), the job completes.
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const j = r.json<{ jobId: string }>();
    const decision = (await eventsOf(j.jobId)).find((e) => e.type === 'decision');
    // The median of the seeded records (and of the first job's, which is far slower).
    expect(decision?.sandbox?.baseline).toMatchObject({ key: 'transcode.mp4', wallMsPerMediaSecond: 0.0001 });
    expect(decision?.sandbox?.baseline?.samples).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('with onSlowJob: kill, the slow job is killed with exit 5 naming monitor.slow-job, nothing left', async () => {
    const outDir = path.join(sb.dir, 'slow-kill');
    await mkdir(outDir);
    const out = path.join(outDir, 'out.mp4');
    const r = await sb.run(['--json', 'run', '-p', killPolicy, '-i', heavy, '-o', out], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(5);
    const j = r.json<{ reason: string; jobId: string; violations: Array<{ rule: string }> }>();
    expect(j.reason).toBe('killed-by-monitor');
    expect(j.violations.map((v) => v.rule)).toEqual(['monitor.slow-job']);
    expect(await readdir(outDir)).toEqual([]);
    const result = (await eventsOf(j.jobId)).find((e) => e.type === 'result');
    expect(result?.verdict).toBe('failed');
    expect(result?.run?.leftBehind).toBe(0);
  }, 240_000);
});
