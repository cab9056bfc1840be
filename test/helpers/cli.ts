/**
 * Run the built CLI as a user would: `node bin/zt-ffmpeg ...` in its own process, with a clean
 * environment whose state and config directories are private to the test, and a timeout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'zt-ffmpeg');

export interface CliResult {
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON when --json was given. */
  json<T = Record<string, unknown>>(): T;
}

export interface Sandbox {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly auditLog: string;
  readonly auditKey: string;
  readonly auditPub: string;
  run(args: readonly string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({
        code,
        signal: e?.signal ?? null,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      });
    });
  });
}

/** A private HOME/XDG for one test file: its own audit log and key. */
export async function makeSandbox(prefix = 'zt-test-'): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    XDG_STATE_HOME: path.join(dir, 'state'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    NO_COLOR: '1',
  };
  const auditLog = path.join(dir, 'state', 'zt-ffmpeg', 'audit.log');
  const auditKey = path.join(dir, 'config', 'zt-ffmpeg', 'audit.key');
  return {
    dir,
    env,
    auditLog,
    auditKey,
    auditPub: path.join(dir, 'config', 'zt-ffmpeg', 'audit.pub'),
    run: (args, opts = {}) => runCli(args, { ...env, ...(opts.env ?? {}) }, opts.timeoutMs),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
