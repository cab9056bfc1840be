/**
 * The supervisor against tiny misbehaving children (a shell loop, a tree of sleepers that
 * ignores SIGTERM, a process fan-out), in the real bubblewrap sandbox under prlimit: the limit
 * is named, and nothing of the tree survives the kill path even though bwrap --new-session puts
 * the command outside our process group.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { supervise, type SupervisedRun } from '../../src/sandbox/supervise.js';
import { MiB, SANDBOX_TOOLS, sandboxSpec } from '../helpers/supervise.js';
import { CPU_HARD_GRACE_SECONDS } from '../../src/sandbox/prlimit.js';
import { resolveSandboxIdentity } from '../../src/sandbox/identity.js';

const PYTHON = '/usr/bin/python3';

const spec = (command: string[], o: Partial<SupervisedRun> = {}): SupervisedRun => sandboxSpec(command, o);

const monitor = { sampleMs: 100, maxThreads: 64, addressSpaceBytes: 256 * MiB, onMemorySpike: 'warn' as const, onEscapeAttempt: 'kill' as const };

/** Processes on the whole machine whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (/\) Z /.test(st)) continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(marker)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('supervise: limits and the kill path', () => {
  it('a CPU hog without the monitor that handles SIGXCPU (as ffmpeg does) is stopped by it at RLIMIT_CPU', async () => {
    // The command is the sandbox's pid 1 (bwrap --as-pid-1): the kernel delivers SIGXCPU to it
    // only because it has a handler.
    const r = await supervise(spec(['/usr/bin/sh', '-c', "trap 'exit 3' XCPU; while :; do :; done"], { rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: 1, fileSizeBytes: MiB, openFiles: 64 } }));
    expect(r.killedFor).toBeUndefined();
    expect(r.exitCode).toBe(3);
    expect(r.wallMs).toBeLessThan(1000 * (1 + CPU_HARD_GRACE_SECONDS));
    expect(r.leftBehind).toBe(0);
  });

  it('a CPU hog without the monitor and without a SIGXCPU handler is ended by the hard limit: a namespace init gets no default action for SIGXCPU', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'while :; do :; done'], { rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: 1, fileSizeBytes: MiB, openFiles: 64 } }));
    expect(r.killedFor).toBeUndefined();
    expect(r.exitCode).toBe(128 + 9);
    expect(r.wallMs).toBeGreaterThanOrEqual(1000 * (1 + CPU_HARD_GRACE_SECONDS) - 300);
    expect(r.leftBehind).toBe(0);
  });

  it('a CPU hog under the monitor is killed when the tree reaches the CPU limit', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'while :; do :; done'], { rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: 1, fileSizeBytes: MiB, openFiles: 64 }, monitor }));
    // Whichever comes first, the monitor's sample or the kernel's SIGXCPU, the rule is the CPU limit.
    expect(r.killedFor?.rule ?? r.limit?.rule).toBe('limits.cpuSeconds');
    expect(r.peaks.cpuMs).toBeGreaterThan(500);
    expect(r.leftBehind).toBe(0);
  });

  it('the wall clock kills a tree that ignores SIGTERM and forks, and leaves no process behind', async () => {
    const marker = `31.${process.pid}${Date.now() % 100000}`;
    const script = `trap '' TERM; /usr/bin/sleep ${marker} & /usr/bin/sleep ${marker} & ( /usr/bin/sleep ${marker} & ) ; while :; do /usr/bin/sleep 0.2; done`;
    const r = await supervise(spec(['/usr/bin/sh', '-c', script], { wallMs: 1500, monitor }));
    expect(r.killedFor?.rule).toBe('limits.wallSeconds');
    expect(r.leftBehind).toBe(0);
    expect(r.peaks.processes).toBeGreaterThanOrEqual(5);
    expect(processesWith(marker)).toEqual([]);
  });

  it('the monitor enforces maxThreads on its own (this run sets no task ceiling) and kills the fan-out', async () => {
    const marker = `32.${process.pid}${Date.now() % 100000}`;
    const script = `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /usr/bin/sleep ${marker} & done; wait`;
    const r = await supervise(spec(['/usr/bin/sh', '-c', script], { monitor: { ...monitor, maxThreads: 6 } }));
    expect(r.killedFor?.rule).toBe('limits.maxThreads');
    expect(r.leftBehind).toBe(0);
    expect(processesWith(marker)).toEqual([]);
  });

  it.skipIf(!existsSync(PYTHON))('a fork bomb without a monitor (a probe has none) stops at the task ceiling the kernel holds per sandbox, not per host user', async () => {
    // As root the sandbox runs as the dedicated user, as a job's does (RLIMIT_NPROC does not bind
    // a root-owned task). Each sandbox holds python alone before it forks: it is the sandbox's
    // pid 1 (bwrap --as-pid-1), so every task there descends from the ceiling.
    const id = await resolveSandboxIdentity(undefined);
    const tools = { ...SANDBOX_TOOLS, ...(id.dropped ? { runAs: { uid: id.uid, gid: id.gid } } : {}) };
    const marker = `33.${process.pid}${Date.now() % 100000}`;
    const py = [
      'import os, sys, time',
      'n = 0',
      'try:',
      '    for _ in range(200):',
      '        if os.fork() == 0:',
      `            time.sleep(${marker})`,
      '        n += 1',
      'except OSError as e:',
      '    print(n, flush=True)',
      '    sys.stderr.write(str(e) + chr(10))',
      '    sys.exit(3)',
    ].join('\n');
    const bomb = (): Promise<Awaited<ReturnType<typeof supervise>>> =>
      supervise(spec([PYTHON, '-c', py], { tools, wallMs: 15_000, rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: 30, fileSizeBytes: MiB, openFiles: 64, tasks: 8 } }));
    // Two at once, as the same host user: each gets its own ceiling of 8.
    const runs = await Promise.all([bomb(), bomb()]);
    for (const r of runs) {
      expect(r.stdout.trim()).toBe('7');
      expect(r.stderr).toMatch(/Resource temporarily unavailable/);
      expect(r.exitCode).toBe(3);
      expect(r.limit?.rule).toBe('limits.maxThreads');
      expect(r.limit?.message).toMatch(/ceiling of 8 tasks/);
      expect(r.leftBehind).toBe(0);
    }
    expect(processesWith(marker)).toEqual([]);
  });

  it('exited processes that no one waits for count against maxThreads: each holds a host pid', async () => {
    // The shell starts 20 processes that exit at once and becomes a sleep that never waits: 20
    // zombies beside one live thread. Uncounted, they could fill the host's pid range.
    const script = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /usr/bin/true & done; exec /usr/bin/sleep 20';
    const r = await supervise(spec(['/usr/bin/sh', '-c', script], { wallMs: 5000, monitor: { ...monitor, maxThreads: 6 } }));
    expect(r.killedFor?.rule).toBe('limits.maxThreads');
    expect(r.killedFor?.message).toMatch(/\(\d+ of them exited processes no one waited for, each holding a pid\)/);
    expect(r.leftBehind).toBe(0);
  });

  it.skipIf(!existsSync(PYTHON))('a process whose first thread exits while 20 others run on is counted by its threads, and killed whole', async () => {
    // /proc shows such a thread-group leader in state Z, like a zombie, with the group's thread
    // count; a child started by one of its threads has the leader's pid as its parent.
    const marker = `33.${process.pid}${Date.now() % 100000}`;
    // The first thread starts one other and exits; only then does that one start 20 threads and
    // a child, so the limit can be broken only while the leader shows Z.
    const py = [
      'import threading, time, ctypes, subprocess',
      'def later():',
      '    time.sleep(0.5)',
      `    threading.Thread(target=lambda: subprocess.run(['/usr/bin/sleep', '${marker}']), daemon=True).start()`,
      '    [threading.Thread(target=time.sleep, args=(30,), daemon=True).start() for _ in range(20)]',
      '    time.sleep(30)',
      'threading.Thread(target=later).start()',
      'ctypes.CDLL(None).pthread_exit(None)',
    ].join('\n');
    const r = await supervise(spec([PYTHON, '-c', py], { wallMs: 8000, monitor: { ...monitor, maxThreads: 6 } }));
    expect(r.killedFor?.rule).toBe('limits.maxThreads');
    expect(r.killedFor?.message).not.toMatch(/exited processes/);
    expect(r.leftBehind).toBe(0);
    expect(processesWith(marker)).toEqual([]);
  });

  it.skipIf(!existsSync(PYTHON))("the memory of a process whose first thread has exited is read from its live threads (the leader's stat shows none)", async () => {
    const py = [
      'import threading, time, ctypes',
      'def later():',
      '    time.sleep(0.5)',
      '    b = bytearray(160 * 1024 * 1024)',
      '    for i in range(0, len(b), 4096): b[i] = 1',
      '    time.sleep(30)',
      'threading.Thread(target=later).start()',
      'ctypes.CDLL(None).pthread_exit(None)',
    ].join('\n');
    const r = await supervise(
      spec([PYTHON, '-c', py], {
        wallMs: 8000,
        rlimits: { addressSpaceBytes: 1024 * MiB, cpuSeconds: 30, fileSizeBytes: MiB, openFiles: 64 },
        monitor: { ...monitor, addressSpaceBytes: 128 * MiB, onMemorySpike: 'kill' },
      }),
    );
    expect(r.killedFor?.rule).toBe('monitor.memory-spike');
    expect(r.peaks.rssBytes).toBeGreaterThan(32 * MiB);
    expect(r.leftBehind).toBe(0);
  });

  it('an escape attempt in the diagnostics kills when the policy says kill', async () => {
    // The line comes from the child, not from its argv (an echo of the argv is not evidence).
    const line = Buffer.from("[tcp @ 0x1] Protocol 'tcp' not on whitelist 'file'!\n").toString('base64');
    const r = await supervise(spec(['/usr/bin/sh', '-c', `echo ${line} | /usr/bin/base64 -d >&2; exec /usr/bin/sleep 20`], { monitor }));
    expect(r.killedFor?.rule).toBe('monitor.escape-attempt');
    const a = r.anomalies.find((x) => x.kind === 'escape-attempt');
    // Recorded as what the child printed: quoted, escaped, marked untrusted.
    expect(a?.untrusted).toBe('ffmpeg-stderr');
    expect(JSON.parse(a?.evidence ?? '""')).toBe("[tcp @ 0x1] Protocol 'tcp' not on whitelist 'file'!");
    expect(r.leftBehind).toBe(0);
  });

  it('a clean run: exit 0, peaks recorded, nothing killed, the media echoed for the baseline', async () => {
    const r = await supervise(spec(['/usr/bin/sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done'], { monitor, media: { seconds: 3, baselineKey: 'transcode.mp4' } }));
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('done');
    expect(r.killedFor).toBeUndefined();
    expect(r.limit).toBeUndefined();
    expect(r.peaks.samples).toBeGreaterThan(0);
    expect(r.mediaSeconds).toBe(3);
    expect(r.baselineKey).toBe('transcode.mp4');
  });

  it('a slow job is killed past factor × baseline × media seconds when onSlowJob is kill', async () => {
    const baseline = { key: 'transcode.mp4', samples: 5, wallMsPerMediaSecond: 100, cpuMsPerMediaSecond: 100 };
    const r = await supervise(spec(['/usr/bin/sleep', '20'], { monitor: { ...monitor, slowJob: { baseline, mediaSeconds: 1, factor: 2, action: 'kill' } } }));
    expect(r.killedFor?.rule).toBe('monitor.slow-job');
    // The floor (MIN_SLOW_KILL_MS) holds even though 2 × 100 ms × 1 s is smaller: the kill
    // cannot come before it (a lower bound the clock guarantees, not a race).
    expect(r.wallMs).toBeGreaterThanOrEqual(2000);
    expect(r.leftBehind).toBe(0);
  });
});
