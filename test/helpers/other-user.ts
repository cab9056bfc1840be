/**
 * A second, unprivileged local user for the shared-directory tests: commands run through
 * `runuser -u nobody` (util-linux), with a timeout. The tests that use it run as root (CI and
 * this machine do); they are skipped elsewhere.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const OTHER_USER = 'nobody';
export const OTHER_UID = 65534;
export const isRoot = (process.geteuid?.() ?? -1) === 0;

/** Run a command as the other user; resolves with its exit code and output. */
export function asOther(file: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/sbin/runuser', ['-u', OTHER_USER, '--', file, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', env: { PATH: '/usr/bin:/bin' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A shell loop run by the other user in the background (its own process group); stop() ends it. */
export function otherLoop(script: string): { child: ChildProcess; stop(): void } {
  const child = spawn('/usr/sbin/runuser', ['-u', OTHER_USER, '--', '/bin/sh', '-c', script], { stdio: 'ignore', detached: true, env: { PATH: '/usr/bin:/bin' } });
  return {
    child,
    stop(): void {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

/** A directory both users can reach (0755 under the system temp dir), for a shared tree. */
export async function reachableDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(d, 0o755);
  return d;
}
