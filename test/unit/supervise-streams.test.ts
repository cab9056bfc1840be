/**
 * The supervisor's side of the job's budgets, against tiny misbehaving children in the real
 * bubblewrap sandbox (a flood, a sleeper, a CPU hog, a fake progress report): stderr is drained
 * for the whole run into bounded memory and a flood kills; how the command ended comes from
 * bubblewrap's structured status, not from what it printed; the CPU and wall budgets and the
 * output budget (from the -progress pipe) kill with the budget's rule. No timed assertions:
 * every child here either cannot finish on its own, or finishes with a known result.
 */
import { describe, it, expect } from 'vitest';
import { supervise, type SupervisedRun } from '../../src/sandbox/supervise.js';
import type { Bound, OutputBudget, RunBudget } from '../../src/monitor/budget.js';
import { MiB, sandboxSpec } from '../helpers/supervise.js';

const monitor = { sampleMs: 100, maxThreads: 64, addressSpaceBytes: 256 * MiB, onMemorySpike: 'warn' as const, onEscapeAttempt: 'kill' as const };
const spec = (command: string[], o: Partial<SupervisedRun> = {}): SupervisedRun => sandboxSpec(command, o, { cpuSeconds: 60, wallMs: 60_000 });

const bound = (limit: number, rule: Bound['rule']): Bound => ({ limit, rule, basis: 'test' });
const budget = (o: Partial<RunBudget> = {}): RunBudget => ({
  mediaSeconds: 1,
  cpuMs: bound(60_000, 'budget.cpuSecondsPerMediaSecond'),
  wallMs: bound(60_000, 'budget.wallSecondsPerMediaSecond'),
  stderrBytes: bound(16 * MiB, 'budget.maxStderrMiB'),
  ...o,
});
const output: OutputBudget = {
  seconds: bound(3, 'output.maxDuration'),
  frameRate: bound(30, 'output.maxFrameRate'),
  width: bound(1920, 'output.maxWidth'),
  height: bound(1080, 'output.maxHeight'),
  pixels: bound(1920 * 1080, 'output.maxPixels'),
  bytes: bound(10 * MiB, 'output.maxBytes'),
};

describe('stderr is data', () => {
  it('a flood past the budget kills the tree; only a bounded head and tail are kept, every byte is counted', async () => {
    // SIGPIPE ignored, as ffmpeg does: closing the pipe would not stop it; the kill does.
    const r = await supervise(spec(['/usr/bin/sh', '-c', "trap '' PIPE; exec /usr/bin/yes flooding-the-diagnostics >&2"], { budget: budget({ stderrBytes: bound(2 * MiB, 'budget.maxStderrMiB') }), monitor }));
    expect(r.killedFor?.rule).toBe('budget.maxStderrMiB');
    expect(r.killedFor?.limit).toBe(2 * MiB);
    expect(r.stderrBytes).toBeGreaterThan(2 * MiB);
    expect(r.stderr.length).toBeLessThan(200 * 1024);
    expect(r.stderr).toMatch(/bytes not kept/);
    expect(r.leftBehind).toBe(0);
  });

  it('is drained for the whole run: a chatty child under the budget finishes normally', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', '/usr/bin/head -c 1048576 /dev/zero | /usr/bin/tr "\\000" x >&2; echo done'], { budget: budget(), monitor }));
    expect(r.end).toEqual({ kind: 'exited', code: 0 });
    expect(r.stderrBytes).toBe(MiB);
    expect(r.stdout.trim()).toBe('done');
    expect(r.stderr.length).toBeLessThan(200 * 1024);
    expect(r.killedFor).toBeUndefined();
  });

  it("a line that looks like bwrap's own failure does not make the sandbox look broken", async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'echo "bwrap: execvp ffmpeg: No such file or directory" >&2; exit 1']));
    expect(r.sandboxFailed).toBe(false);
    expect(r.end).toEqual({ kind: 'exited', code: 1 });
    expect(r.stderr).toContain('bwrap: execvp');
  });

  it('a command bwrap cannot execute is a sandbox failure, told by its status report', async () => {
    const r = await supervise(spec(['/usr/bin/does-not-exist-zt']));
    expect(r.sandboxFailed).toBe(true);
    expect(r.end).toEqual({ kind: 'not-run' });
  });

  it('an unrelated "Cannot allocate memory" is no address-space breach', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'echo "Error while decoding stream #0:0: Cannot allocate memory" >&2; exit 1'], { monitor }));
    expect(r.limit).toBeUndefined();
    expect(r.end).toEqual({ kind: 'exited', code: 1 });
  });
});

describe('budgets while it runs', () => {
  it('the CPU budget of the whole tree kills with the budget rule (below limits.cpuSeconds)', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'while :; do :; done'], { budget: budget({ cpuMs: bound(1000, 'budget.cpuSecondsPerMediaSecond') }), monitor }));
    expect(r.killedFor?.rule).toBe('budget.cpuSecondsPerMediaSecond');
    expect(r.killedFor?.limit).toBe(1);
    expect(r.leftBehind).toBe(0);
  });

  it('the wall budget kills a child that burns no CPU', async () => {
    const r = await supervise(spec(['/usr/bin/sleep', '600'], { budget: budget({ wallMs: bound(1500, 'budget.wallSecondsPerMediaSecond') }), monitor }));
    expect(r.killedFor?.rule).toBe('budget.wallSecondsPerMediaSecond');
    expect(r.leftBehind).toBe(0);
  });

  it('the progress report past the output budget kills: duration, then frames for the time written', async () => {
    const long = await supervise(spec(['/usr/bin/sh', '-c', 'printf "frame=10\\nout_time_us=9000000\\nprogress=continue\\n" >&7; exec /usr/bin/sleep 600'], { progress: { output }, monitor }));
    expect(long.killedFor).toMatchObject({ rule: 'output.maxDuration', actual: 9, limit: 3 });
    const many = await supervise(spec(['/usr/bin/sh', '-c', 'printf "frame=100000\\nout_time_us=500000\\nprogress=continue\\n" >&7; exec /usr/bin/sleep 600'], { progress: { output }, monitor }));
    expect(many.killedFor?.rule).toBe('output.maxFrameRate');
    expect(many.leftBehind).toBe(0);
  });

  it('a report within the budget is passed on and kills nothing', async () => {
    const seen: number[] = [];
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'printf "frame=25\\nout_time_us=1000000\\nspeed=2.0x\\nprogress=end\\n" >&7'], { progress: { output }, onProgress: (p) => seen.push(p.outSeconds ?? -1), monitor }));
    expect(r.end).toEqual({ kind: 'exited', code: 0 });
    expect(r.killedFor).toBeUndefined();
    expect(seen).toEqual([1]);
  });

  it('a job past the learned baseline is flagged (warn) and still completes', async () => {
    const baseline = { key: 'transcode.mp4', samples: 5, wallMsPerMediaSecond: 1, cpuMsPerMediaSecond: 1 };
    // sleep 3 outlasts the 2 s floor of the deadline whatever the machine's speed.
    const r = await supervise(spec(['/usr/bin/sleep', '3'], { monitor: { ...monitor, slowJob: { baseline, mediaSeconds: 1, factor: 2, action: 'warn' } } }));
    expect(r.end).toEqual({ kind: 'exited', code: 0 });
    expect(r.anomalies.map((a) => [a.kind, a.action])).toContainEqual(['slow-job', 'warn']);
  });
});
