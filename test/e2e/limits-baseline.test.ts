/**
 * The learned baseline, end to end: result records carry what the baseline learns from
 * (operation target and media seconds); with a baseline in the audit log, a job far above it
 * is flagged as a `slow-job` anomaly (onSlowJob: warn) or killed with exit 5
 * (onSlowJob: kill) and nothing of it is left.
 *
 * The baseline is seeded with properly signed and chained records claiming an absurdly fast
 * history (1 ms of wall and CPU time per media-second), so that any real job is far above it;
 * the slow-job floor (MIN_SLOW_KILL_MS) means the job must still run for over 2 s, hence the
 * 720p input.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { ffmpeg, makeSample } from '../helpers/media.js';
import { loadSigningKey } from '../../src/keys/index.js';
import { openAuditLog } from '../../src/audit/writer.js';
import { MIN_SLOW_KILL_MS } from '../../src/monitor/baseline.js';

let sb: Sandbox;
let small = '';
let heavy = '';
let killPolicy = '';

interface Event {
  type: string;
  jobId?: string;
  verdict?: string;
  run?: { baselineKey?: string; mediaSeconds?: number; anomalies?: Array<{ kind: string; action: string }>; leftBehind?: number };
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
  heavy = path.join(sb.dir, 'heavy.mp4');
  // 12 s of 1280x720: a transcode of it takes well over MIN_SLOW_KILL_MS.
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=12', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', heavy], 120_000);
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

  it('seeded with a fast history, a slow job is flagged (warn) and still completes', async () => {
    const key = await loadSigningKey(sb.auditKey, { autoGenerate: false });
    const w = await openAuditLog({ logPath: sb.auditLog, key, lockTimeoutMs: 30_000 });
    for (let i = 0; i < 3; i++) {
      await w.append({ type: 'result', jobId: `seed-${i}`, verdict: 'ok', operation: 'transcode', run: { wallMs: 10, peaks: { cpuMs: 10 }, mediaSeconds: 10, baselineKey: 'transcode.mp4' } });
    }
    await w.close();
    const out = path.join(sb.dir, 'slow-warn.mp4');
    const r = await sb.run(['--json', 'run', '-i', heavy, '-o', out], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const j = r.json<{ jobId: string; warnings: Array<{ rule: string }>; run: { wallMs: number } }>();
    expect(j.run.wallMs).toBeGreaterThan(MIN_SLOW_KILL_MS);
    expect(j.warnings.map((x) => x.rule)).toContain('monitor.slow-job');
    const result = (await eventsOf(j.jobId)).find((e) => e.type === 'result');
    expect(result?.run?.anomalies?.map((a) => [a.kind, a.action])).toContainEqual(['slow-job', 'warn']);
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
