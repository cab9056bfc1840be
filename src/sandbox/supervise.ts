/**
 * Run one command inside the sandbox: prlimit → bwrap → command, with the input bound from an
 * open descriptor, an optional seccomp program passed by descriptor, live monitoring of the
 * tree, a wall-clock limit, and a kill path that always ends in SIGKILL of every process of
 * the tree. Returns what happened as a value; the caller decides what it means.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { exec } from '../util/exec.js';
import { buildBwrapArgs, sandboxEnv, type BwrapSpec } from './bwrap.js';
import { buildPrlimitArgs, type RlimitSpec } from './prlimit.js';
import { startMonitor, scanDiagnostics, emptyPeaks, type Anomaly, type Breach, type MonitorLimits, type Peaks } from '../run/monitor.js';
import { killTree, descendants, readAllStats } from '../run/proc.js';

export interface SandboxTools {
  readonly bwrap: string | undefined;
  readonly prlimit: string;
  /** Degraded mode: run without bwrap (the policy allowed it and the audit record says so). */
  readonly degraded: boolean;
}

export interface SupervisedRun {
  readonly tools: SandboxTools;
  /** Command to run inside; argv[0] must be an absolute path. */
  readonly command: readonly string[];
  readonly inputFd?: number;
  readonly inputName?: string;
  readonly jobDir?: string;
  readonly seccompFile?: string;
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  readonly rlimits: RlimitSpec;
  readonly wallMs: number;
  readonly monitor?: MonitorLimits;
  readonly maxOutputBytes?: number;
  readonly onStderr?: (chunk: string) => void;
}

export interface SupervisedOutcome {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  readonly peaks: Peaks;
  readonly anomalies: readonly Anomaly[];
  /** Set when the supervisor killed the tree, with the rule that caused it. */
  readonly killedFor?: Breach;
  /** bwrap itself could not build the sandbox. */
  readonly sandboxFailed: boolean;
  readonly spawnFailed: boolean;
  /** Processes of the tree still alive after the kill path (should always be 0). */
  readonly leftBehind: number;
}

/** Build the full argv (prlimit … bwrap … command) for display and for running. */
export function sandboxArgv(run: SupervisedRun, fds: { input?: number; seccomp?: number }): { file: string; args: string[] } {
  const inner: string[] = run.tools.degraded || run.tools.bwrap === undefined
    ? [...run.command]
    : [run.tools.bwrap, ...buildBwrapArgs(bwrapSpec(run, fds))];
  return { file: run.tools.prlimit, args: [...buildPrlimitArgs(run.rlimits), ...inner] };
}

function bwrapSpec(run: SupervisedRun, fds: { input?: number; seccomp?: number }): BwrapSpec {
  return {
    ...(fds.input !== undefined ? { inputFd: fds.input, inputName: run.inputName ?? 'input' } : {}),
    ...(run.jobDir !== undefined ? { jobDir: run.jobDir } : {}),
    ...(fds.seccomp !== undefined ? { seccompFd: fds.seccomp } : {}),
    tmpfsBytes: run.tmpfsBytes,
    grants: run.grants,
    env: sandboxEnv(),
    command: run.command,
  };
}

export async function supervise(run: SupervisedRun): Promise<SupervisedOutcome> {
  const extraFds: number[] = [];
  let seccompHandle: FileHandle | undefined;
  const fds: { input?: number; seccomp?: number } = {};
  if (run.inputFd !== undefined && !run.tools.degraded) {
    extraFds.push(run.inputFd);
    fds.input = 2 + extraFds.length;
  }
  try {
    if (run.seccompFile !== undefined && !run.tools.degraded) {
      seccompHandle = await open(run.seccompFile, 'r');
      extraFds.push(seccompHandle.fd);
      fds.seccomp = 2 + extraFds.length;
    }
    const { file, args } = sandboxArgv(run, fds);
    const anomalies: Anomaly[] = [];
    let killedFor: Breach | undefined;
    let rootPid: number | undefined;
    let monitor: ReturnType<typeof startMonitor> | undefined;
    let stderrTail = '';
    const kill = (b: Breach): void => {
      if (killedFor) return;
      killedFor = b;
      if (rootPid !== undefined) killTree(rootPid);
    };
    const wallTimer = setTimeout(() => {
      kill({ rule: 'limits.wallSeconds', actual: `>${Math.round(run.wallMs / 1000)}`, limit: Math.round(run.wallMs / 1000), message: `the job ran longer than the wall-clock limit of ${Math.round(run.wallMs / 1000)} s` });
    }, run.wallMs);
    const escapeAction = run.monitor?.onEscapeAttempt ?? 'warn';
    const seenEscape = new Set<string>();
    const r = await exec(file, args, {
      // A backstop only: the wall timer above kills first and records why.
      timeoutMs: run.wallMs + 10_000,
      env: {},
      extraFds,
      maxBuffer: run.maxOutputBytes ?? 64 * 1024 * 1024,
      onSpawn: (pid) => {
        rootPid = pid;
        if (run.monitor) {
          monitor = startMonitor(pid, run.monitor, kill, (a) => anomalies.push(a));
        }
      },
      onStderr: (chunk) => {
        run.onStderr?.(chunk);
        stderrTail = (stderrTail + chunk).slice(-8192);
        for (const a of scanDiagnostics(stderrTail, escapeAction)) {
          if (seenEscape.has(a.message)) continue;
          seenEscape.add(a.message);
          anomalies.push(a);
          if (a.action === 'kill') kill({ rule: 'monitor.escape-attempt', actual: a.evidence ?? a.message, limit: 'no network, no paths outside the sandbox', message: a.message });
        }
      },
    });
    clearTimeout(wallTimer);
    monitor?.stop();
    let leftBehind = 0;
    if (rootPid !== undefined) {
      killTree(rootPid);
      leftBehind = descendants(rootPid, readAllStats()).filter((p) => p.state !== 'Z').length;
    }
    const sandboxFailed = !run.tools.degraded && /^bwrap: /m.test(r.stderr) && !killedFor;
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      wallMs: r.wallMs,
      peaks: monitor?.peaks ?? emptyPeaks(),
      anomalies,
      ...(killedFor ? { killedFor } : {}),
      sandboxFailed,
      spawnFailed: r.spawnFailed,
      leftBehind,
    };
  } finally {
    await seccompHandle?.close();
  }
}

/** What an exit status or signal from prlimit's limits means. */
export function limitFromExit(exitCode: number | undefined, signal: string | undefined, stderr: string): { rule: string; message: string } | undefined {
  const sig = signal ?? (exitCode !== undefined && exitCode > 128 ? signalName(exitCode - 128) : undefined);
  if (sig === 'SIGXCPU') return { rule: 'limits.cpuSeconds', message: 'the CPU-time limit was reached (SIGXCPU)' };
  if (sig === 'SIGXFSZ') return { rule: 'limits.outputMaxMiB', message: 'the output file-size limit was reached (SIGXFSZ)' };
  if (/File too large/i.test(stderr)) return { rule: 'limits.outputMaxMiB', message: 'the output file-size limit was reached (EFBIG)' };
  if (/Cannot allocate memory|out of memory|std::bad_alloc|malloc.*failed/i.test(stderr)) return { rule: 'limits.addressSpaceMiB', message: 'the address-space (memory) limit was reached' };
  return undefined;
}

function signalName(n: number): string | undefined {
  return ({ 9: 'SIGKILL', 24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS', 11: 'SIGSEGV', 6: 'SIGABRT' } as Record<number, string>)[n];
}
