/** execBrief (src/util/exec.ts), the light spawn flock(1) runs through: status, stderr, timeout, a helper that cannot start, the group killed. */
import { describe, expect, it } from 'vitest';
import { execBrief } from '../../src/util/exec.js';

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
