/**
 * src/util/exec.ts, the one place that spawns: exec (the sandboxed runs, the listings) and
 * execBrief (flock(1)). Status, captured text, the exact environment, the timeout and its grace,
 * the caps, a binary that cannot start, the uid drop, the group killed at the end.
 */
import { describe, expect, it } from 'vitest';
import type { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { exec, execBrief } from '../../src/util/exec.js';
import { eventually, processesWith } from '../helpers/host-state.js';

describe('exec', () => {
  it('captures stdout and stderr as text, a character split across two writes whole, with exactly the environment given', async () => {
    // The euro sign is three bytes: the first one, a pause, the other two.
    const r = await exec('/bin/sh', ['-c', 'printf "\\342"; sleep 0.1; printf "\\202\\254 HOME=${HOME-unset}"; echo oops >&2; exit 4'], { timeoutMs: 10_000, env: {} });
    expect(r).toMatchObject({ exitCode: 4, signal: undefined, stdout: '\u20ac HOME=unset', stderr: 'oops\n', timedOut: false, spawnFailed: false });
  });

  it('runs in the given directory', async () => {
    const r = await exec('/bin/pwd', [], { timeoutMs: 10_000, cwd: '/usr/share' });
    expect(r.stdout.trim()).toBe('/usr/share');
  });

  it('past maxBuffer the child is killed, the text is cut at the cap, and the result says so', async () => {
    const r = await exec('/bin/sh', ['-c', 'yes x'], { timeoutMs: 10_000, maxBuffer: 1000 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout.length).toBe(1000);
    expect(r).toMatchObject({ timedOut: false, truncated: true });
    // Also when the child wrote it all and ended before its output was read.
    const early = await exec('/bin/sh', ['-c', 'head -c 3000 /dev/zero | tr "\\0" y'], { timeoutMs: 10_000, maxBuffer: 1000 });
    expect(early.truncated).toBe(true);
    expect((await exec('/bin/echo', ['short'], { timeoutMs: 10_000, maxBuffer: 1000 })).truncated).toBe(false);
  });

  it('a process outside the group that keeps a pipe open does not hold the result past the timeout', async () => {
    const marker = `28.${process.pid}${Date.now() % 100000}`;
    try {
      // setsid: a session (and group) of its own, so the group kill does not reach it; it holds stdout.
      const r = await exec('/bin/sh', ['-c', `setsid sleep ${marker} & echo started`], { timeoutMs: 300, graceMs: 0 });
      expect(r).toMatchObject({ timedOut: true, exitCode: 0, stdout: 'started\n' });
      expect(r.wallMs).toBeLessThan(5000);
    } finally {
      for (const pid of await processesWith(marker)) process.kill(pid, 'SIGKILL');
    }
  });

  it('at the timeout the group gets SIGTERM, and SIGKILL after the grace if it ignores it', async () => {
    // A duration no other process has: how the child's own children are found afterwards.
    const marker = `29.${process.pid}${Date.now() % 100000}`;
    const r = await exec('/bin/sh', ['-c', `trap "" TERM; sleep ${marker} & sleep ${marker}`], { timeoutMs: 200, graceMs: 300 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(r.wallMs).toBeLessThan(10_000);
    expect(await eventually(async () => (await processesWith(marker)).length === 0, 5000)).toBe(true);
  });

  it('hands over the pipes it was asked for, unbuffered', async () => {
    let fd3: Readable | undefined;
    let out: Readable | undefined;
    const chunks: string[] = [];
    const r = await exec('/bin/sh', ['-c', 'echo three >&3; echo one'], {
      timeoutMs: 10_000,
      extraFds: ['pipe'],
      unbuffered: { stdout: true },
      onStreams: (s) => {
        fd3 = s.pipes.get(3);
        out = s.stdout;
        fd3?.on('data', (d: Buffer) => chunks.push(`3:${d.toString()}`));
        out?.on('data', (d: Buffer) => chunks.push(`1:${d.toString()}`));
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(''); // handed over, not captured
    expect(chunks.sort()).toEqual(['1:one\n', '3:three\n']);
  });

  it('onExit comes as soon as the child is waited for, before the call resolves while a grandchild still holds its pipe', async () => {
    const order: string[] = [];
    let pid: number | undefined;
    let goneAtExit: boolean | undefined;
    const r = await exec('/bin/sh', ['-c', 'sleep 0.5 & exit 0'], {
      timeoutMs: 10_000,
      env: {},
      onSpawn: (p) => {
        pid = p;
      },
      onExit: () => {
        order.push('exit');
        // Waited for: the pid names nothing now (or, reused, another process started since).
        goneAtExit = !existsSync(`/proc/${pid}`);
      },
    });
    order.push('resolved');
    expect(r.exitCode).toBe(0);
    expect(order).toEqual(['exit', 'resolved']);
    expect(goneAtExit).toBe(true);
  });
  it('a binary that cannot be started resolves once, as a spawn failure with its reason', async () => {
    const r = await exec('/nonexistent/ffprobe', ['-version'], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ spawnFailed: true, exitCode: undefined, signal: undefined, timedOut: false });
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  it.runIf(process.getuid?.() === 0)('as root, runs the child as the uid and gid given, with no supplementary group', async () => {
    const r = await exec('/usr/bin/id', [], { timeoutMs: 10_000, uid: 65534, gid: 65534 });
    expect(r.stdout.trim()).toMatch(/^uid=65534\(\w+\) gid=65534\(\w+\) groups=65534\(\w+\)$/);
  });
});

describe('execBrief', () => {
  it('reports the exit status and stderr, with exactly the environment given', async () => {
    const r = await execBrief('/bin/sh', ['-c', 'echo "HOME=${HOME-unset}" >&2; exit 3'], { timeoutMs: 10_000, env: {} });
    expect(r).toMatchObject({ exitCode: 3, stderr: 'HOME=unset\n', timedOut: false, spawnFailed: false });
  });

  it('kills the helper and everything it started at the timeout', async () => {
    const r = await execBrief('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(r.wallMs).toBeLessThan(10_000);
  });

  it('a binary that cannot be started is a spawn failure, not an exit status', async () => {
    const r = await execBrief('/nonexistent/flock', [], { timeoutMs: 10_000 });
    expect(r.spawnFailed).toBe(true);
    expect(r.exitCode).toBeUndefined();
  });
});
