/**
 * Run one command inside the sandbox: prlimit → bwrap → command, with the input bound from an
 * open descriptor, an optional seccomp program passed by descriptor, live monitoring of the
 * tree, a wall-clock limit, and a kill path that always ends in SIGKILL of every process of
 * the tree. Returns what happened as a value; the caller decides what it means.
 */
import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { exec } from '../util/exec.js';
import type { LimitRuleId } from './rule-ids.js';
import { buildBwrapArgs, sandboxEnv, FONT_DIRS, PROC_MASKED_DIRS, PROC_MASKED_FILES, type BwrapSpec } from './bwrap.js';
import { buildPrlimitArgs, type RlimitSpec } from './prlimit.js';
import { startMonitor, scanDiagnostics, emptyPeaks, type Anomaly, type Breach, type MonitorLimits, type Peaks } from '../monitor/monitor.js';
import { judgeFinishedJob } from '../monitor/baseline.js';
import { ProcessTree } from '../monitor/proc.js';
import { watchTmpfs } from '../monitor/tmpfs-watch.js';

export interface SandboxTools {
  readonly bwrap: string | undefined;
  readonly prlimit: string;
  /** Degraded mode: run without bwrap (the policy allowed it and the audit record says so). */
  readonly degraded: boolean;
  /**
   * The font directories that exist on this host (read once by posture), hidden inside the
   * sandbox unless fonts are granted. Absent: looked up when the command line is built.
   */
  readonly fontDirs?: readonly string[];
  /** The host-global /proc entries that exist on this kernel, masked inside (read once by posture). */
  readonly procMask?: { readonly dirs: readonly string[]; readonly files: readonly string[] };
  /** The host uid/gid the sandboxed tree runs as, when not the caller's (a root caller; see identity.ts). */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** Cancels the job: the tree is killed, and the outcome says `interrupted`. */
  readonly signal?: AbortSignal;
}

/** The signals a job is interrupted by; anything else that aborts it counts as SIGINT. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export function interruptSignalOf(reason: unknown): InterruptSignal {
  return reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
}

export interface SupervisedRun {
  readonly tools: SandboxTools;
  /** Command to run inside; argv[0] must be an absolute path. */
  readonly command: readonly string[];
  readonly inputFd?: number;
  readonly inputName?: string;
  /**
   * The input is only inherited (read at INHERITED_INPUT_PATH), never bound at /in: for a file
   * in a directory the sandbox user may not enter (the job directory), which bwrap could not
   * bind (it re-resolves a descriptor's path as that user).
   */
  readonly inputInherited?: boolean;
  /** The output file the host made, inherited by the command at SANDBOX_OUTPUT_PATH. */
  readonly output?: { readonly fd: number; readonly name: string };
  /** Descriptor of command[0] as posture checked it, bound over its path inside the sandbox. */
  readonly binaryFd?: number;
  readonly seccompFile?: string;
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  readonly rlimits: RlimitSpec;
  readonly wallMs: number;
  readonly monitor?: MonitorLimits;
  /** The media this job processes, for the learned baseline (echoed into the outcome). */
  readonly media?: { readonly seconds: number; readonly baselineKey: string };
  readonly maxOutputBytes?: number;
  readonly onStderr?: (chunk: string) => void;
  /** The sandboxed tree as soon as it exists (doctor reads its members' host credentials). */
  readonly onTree?: (tree: ProcessTree) => void;
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
  /** A kernel resource limit that stopped the command (RLIMIT_*), read from how it ended. */
  readonly limit?: { readonly rule: LimitRuleId; readonly message: string };
  /** bwrap itself could not build the sandbox. */
  readonly sandboxFailed: boolean;
  readonly spawnFailed: boolean;
  /** Processes of the tree still alive after the kill path (should always be 0). */
  readonly leftBehind: number;
  readonly mediaSeconds?: number;
  readonly baselineKey?: string;
  /** The job was cancelled (SIGINT, SIGTERM, SIGHUP or a library caller's AbortSignal). */
  readonly interrupted?: InterruptSignal;
}

/** The command lines that run, one per stage, for display (`run --dry-run`). */
export interface SandboxCommandLines {
  /** prlimit and its arguments, up to and including `--`. */
  readonly prlimit: readonly string[];
  /** bwrap and its arguments, up to and including `--` (absent in degraded mode). */
  readonly bwrap?: readonly string[];
  /** The sandboxed command itself. */
  readonly command: readonly string[];
  /** All of it, exactly as spawned. */
  readonly argv: readonly string[];
  /** The same, quoted for a POSIX shell (display only: nothing is ever run through a shell). */
  readonly shell: string;
}

/** Child fd numbers of what a run passes (fixed slots, so plans can name them). */
export interface FdLayout {
  readonly input?: number;
  readonly output?: number;
  readonly seccomp?: number;
  readonly binary?: number;
}

/**
 * The fixed slots. The input and the output are inherited by the sandboxed command itself:
 * ffmpeg writes its output through /proc/self/fd/4, a file the host made in the private job
 * directory, which the sandbox has no path to (so it can write into that one inode and do
 * nothing else on the host's file system). bwrap reads the seccomp program from 5 and binds
 * the binary from 6 over its own path.
 */
export const CHILD_FD = { input: 3, output: 4, seccomp: 5, binary: 6 } as const;
export const SANDBOX_OUTPUT_PATH = `/proc/self/fd/${CHILD_FD.output}`;
/** The input as an inherited descriptor: always in degraded mode, and for inputInherited runs. */
export const INHERITED_INPUT_PATH = `/proc/self/fd/${CHILD_FD.input}`;

/**
 * Pure: which child fd each passed descriptor gets, and the host descriptors in slot order
 * ('ignore' fills a gap). Without bwrap there is no seccomp program and no binary to bind.
 */
export function fdLayout(run: Pick<SupervisedRun, 'tools' | 'inputFd' | 'output' | 'binaryFd' | 'seccompFile'>, seccompFd = -1): { layout: FdLayout; host: Array<number | 'ignore'> } {
  const degraded = run.tools.degraded || run.tools.bwrap === undefined;
  const slots: Array<[keyof FdLayout, number | undefined]> = [
    ['input', run.inputFd],
    ['output', run.output?.fd],
    ['seccomp', degraded || run.seccompFile === undefined ? undefined : seccompFd],
    ['binary', degraded ? undefined : run.binaryFd],
  ];
  const last = slots.reduce((n, [, fd], i) => (fd !== undefined ? i + 1 : n), 0);
  const layout: { -readonly [K in keyof FdLayout]: FdLayout[K] } = {};
  const host: Array<number | 'ignore'> = [];
  slots.slice(0, last).forEach(([k, fd]) => {
    host.push(fd ?? 'ignore');
    if (fd !== undefined) layout[k] = CHILD_FD[k];
  });
  return { layout, host };
}

/** Build the full argv (prlimit … bwrap … command) for display and for running. */
export function sandboxArgv(run: SupervisedRun, fds: FdLayout = fdLayout(run).layout): { file: string; args: string[] } {
  const inner: string[] = run.tools.degraded || run.tools.bwrap === undefined
    ? [...run.command]
    : [run.tools.bwrap, ...buildBwrapArgs(bwrapSpec(run, fds))];
  return { file: run.tools.prlimit, args: [...buildPrlimitArgs(run.rlimits), ...inner] };
}

/** The exact command lines `supervise` would spawn, split by stage. */
export function sandboxCommandLines(run: SupervisedRun, fds: FdLayout = fdLayout(run).layout): SandboxCommandLines {
  const { file, args } = sandboxArgv(run, fds);
  const argv = [file, ...args];
  const prlimitEnd = argv.indexOf('--') + 1;
  const prlimit = argv.slice(0, prlimitEnd);
  const rest = argv.slice(prlimitEnd);
  const bwrapEnd = run.tools.degraded || run.tools.bwrap === undefined ? 0 : rest.length - run.command.length;
  return {
    prlimit,
    ...(bwrapEnd > 0 ? { bwrap: rest.slice(0, bwrapEnd) } : {}),
    command: rest.slice(bwrapEnd),
    argv,
    shell: argv.map(shellQuote).join(' '),
  };
}

/** The masked /proc entries that exist here (bwrap cannot create files in /proc). */
export function presentProcMask(): { dirs: string[]; files: string[] } {
  return { dirs: PROC_MASKED_DIRS.filter((d) => existsSync(d)), files: PROC_MASKED_FILES.filter((f) => existsSync(f)) };
}

/** Pure: quote one word for a POSIX shell. */
export function shellQuote(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

function bwrapSpec(run: SupervisedRun, fds: FdLayout): BwrapSpec {
  return {
    ...(fds.input !== undefined && run.inputInherited !== true ? { inputFd: fds.input, inputName: run.inputName ?? 'input' } : {}),
    ...(fds.binary !== undefined ? { binaryFd: fds.binary } : {}),
    ...(fds.seccomp !== undefined ? { seccompFd: fds.seccomp } : {}),
    tmpfsBytes: run.tmpfsBytes,
    grants: run.grants,
    hideFontDirs: run.grants.fonts ? [] : (run.tools.fontDirs ?? FONT_DIRS.filter((d) => existsSync(d))),
    // Same kernel inside and out: mask what exists here (bwrap cannot create files in /proc).
    maskProc: run.tools.procMask ?? presentProcMask(),
    env: sandboxEnv(),
    command: run.command,
  };
}

/** An outcome for a run that never started because the job was already cancelled. */
function notStarted(run: SupervisedRun, signal: InterruptSignal): SupervisedOutcome {
  return { exitCode: undefined, signal: undefined, stdout: '', stderr: '', wallMs: 0, peaks: emptyPeaks(), anomalies: [], sandboxFailed: false, spawnFailed: false, leftBehind: 0, interrupted: signal, ...(run.media ? { mediaSeconds: run.media.seconds, baselineKey: run.media.baselineKey } : {}) };
}

export async function supervise(run: SupervisedRun): Promise<SupervisedOutcome> {
  const cancel = run.tools.signal;
  if (cancel?.aborted) return notStarted(run, interruptSignalOf(cancel.reason));
  let seccompHandle: FileHandle | undefined;
  let interrupted: InterruptSignal | undefined;
  let onAbort: (() => void) | undefined;
  try {
    if (!run.tools.degraded && run.tools.bwrap !== undefined && run.seccompFile !== undefined) seccompHandle = await open(run.seccompFile, 'r');
    const { layout: fds, host: extraFds } = fdLayout(run, seccompHandle?.fd);
    const { file, args } = sandboxArgv(run, fds);
    const anomalies: Anomaly[] = [];
    let killedFor: Breach | undefined;
    let tree: ProcessTree | undefined;
    let monitor: ReturnType<typeof startMonitor> | undefined;
    let tmpfs: ReturnType<typeof watchTmpfs> | undefined;
    let stderrTail = '';
    // The CPU limit also holds for the tree as a whole (RLIMIT_CPU is per process).
    const monitorLimits: MonitorLimits | undefined = run.monitor ? { ...run.monitor, cpuMs: run.monitor.cpuMs ?? run.rlimits.cpuSeconds * 1000 } : undefined;
    const kill = (b: Breach): void => {
      if (killedFor || interrupted) return;
      killedFor = b;
      // bwrap --new-session: ffmpeg is not in our process group, so walk the tree.
      tree?.killOnce();
    };
    onAbort = (): void => {
      if (interrupted || killedFor) return;
      interrupted = interruptSignalOf(cancel?.reason);
      tree?.killOnce();
    };
    cancel?.addEventListener('abort', onAbort, { once: true });
    const wallS = Math.round(run.wallMs / 1000);
    const wallTimer = setTimeout(() => {
      kill({ rule: 'limits.wallSeconds', actual: `>${wallS}`, limit: wallS, message: `the job ran longer than the wall-clock limit of ${wallS} s` });
    }, run.wallMs);
    const escapeAction = run.monitor?.onEscapeAttempt ?? 'warn';
    const seenEscape = new Set<string>();
    const r = await exec(file, args, {
      // A backstop only: the wall timer above kills first and records why.
      timeoutMs: run.wallMs + 10_000,
      env: {},
      extraFds,
      // A root caller's sandbox runs as the dedicated sandbox user: bwrap then maps to it.
      ...(run.tools.runAs ? { uid: run.tools.runAs.uid, gid: run.tools.runAs.gid } : {}),
      maxBuffer: run.maxOutputBytes ?? 64 * 1024 * 1024,
      onSpawn: (pid) => {
        tree = new ProcessTree(pid);
        tree.scan();
        if (interrupted) tree.killOnce();
        run.onTree?.(tree);
        if (monitorLimits) {
          monitor = startMonitor(tree, monitorLimits, kill, (a) => anomalies.push(a));
          if (!run.tools.degraded) tmpfs = watchTmpfs(tree, run.tmpfsBytes, monitorLimits.sampleMs, kill);
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
    tmpfs?.stop();
    // Whatever happened, nothing of the tree may outlive the job.
    const leftBehind = tree ? await tree.killAll() : 0;
    const peaks = monitor?.peaks ?? emptyPeaks();
    const slow = run.monitor?.slowJob;
    if (slow && !killedFor && r.exitCode === 0 && !anomalies.some((a) => a.kind === 'slow-job')) {
      const j = judgeFinishedJob(slow, { wallMs: r.wallMs, cpuMs: peaks.cpuMs });
      if (j) anomalies.push({ kind: 'slow-job', action: 'warn', message: j.message, evidence: j.evidence });
    }
    const sandboxFailed = !run.tools.degraded && /^bwrap: /m.test(r.stderr) && !killedFor && !interrupted;
    const limit = killedFor || interrupted || r.exitCode === 0 ? undefined : limitFromExit(r.exitCode, r.signal, r.stderr, { cpuMs: peaks.cpuMs, cpuLimitMs: run.rlimits.cpuSeconds * 1000 });
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      wallMs: r.wallMs,
      peaks,
      anomalies,
      ...(killedFor ? { killedFor } : {}),
      ...(limit ? { limit } : {}),
      sandboxFailed,
      spawnFailed: r.spawnFailed,
      leftBehind,
      ...(run.media ? { mediaSeconds: run.media.seconds, baselineKey: run.media.baselineKey } : {}),
      ...(interrupted ? { interrupted } : {}),
    };
  } finally {
    if (onAbort) cancel?.removeEventListener('abort', onAbort);
    await seccompHandle?.close();
  }
}

/**
 * What an exit status or signal says about the kernel's resource limits. bwrap reports a
 * command killed by signal N as exit 128+N. ffmpeg catches SIGXCPU and stops in an orderly way
 * with status 255 (123 after more than three signals); nothing else signals it inside the
 * sandbox (the supervisor only ever sends SIGKILL, and records why). With `ctx` (the tree's CPU
 * time from the monitor), a SIGKILL nobody here sent is attributed to the CPU hard limit when
 * the CPU time is near it.
 */
export function limitFromExit(
  exitCode: number | undefined,
  signal: string | undefined,
  stderr: string,
  ctx?: { cpuMs: number; cpuLimitMs: number },
): { rule: LimitRuleId; message: string } | undefined {
  const sig = signal ?? (exitCode !== undefined && exitCode > 128 && exitCode < 160 ? signalName(exitCode - 128) : undefined);
  const nearCpuLimit = ctx === undefined || ctx.cpuMs >= 0.5 * ctx.cpuLimitMs;
  if (sig === 'SIGXCPU') return { rule: 'limits.cpuSeconds', message: 'the CPU-time limit was reached (SIGXCPU)' };
  if (sig === 'SIGXFSZ') return { rule: 'limits.outputMaxMiB', message: 'the output file-size limit was reached (SIGXFSZ)' };
  if (/File too large/i.test(stderr)) return { rule: 'limits.outputMaxMiB', message: 'the output file-size limit was reached (EFBIG)' };
  if (MEMORY_FAILURE.test(stderr)) return { rule: 'limits.addressSpaceMiB', message: 'the address-space (memory) limit was reached' };
  if ((exitCode === 255 || exitCode === 123) && signal === undefined && nearCpuLimit) {
    return { rule: 'limits.cpuSeconds', message: 'the CPU-time limit was reached (SIGXCPU; ffmpeg stopped)' };
  }
  if (sig === 'SIGKILL' && ctx !== undefined && ctx.cpuMs >= 0.8 * ctx.cpuLimitMs) {
    return { rule: 'limits.cpuSeconds', message: 'the CPU-time hard limit was reached (SIGKILL by the kernel)' };
  }
  return undefined;
}

/** Signs that an allocation failed (RLIMIT_AS): from ffmpeg, its libraries, or the dynamic loader. */
const MEMORY_FAILURE = /Cannot allocate memory|out of memory|std::bad_alloc|malloc[^\n]*failed|failed to map segment from shared object|cannot allocate memory in static TLS block|mmap[^\n]*failed/i;

function signalName(n: number): string | undefined {
  return ({ 9: 'SIGKILL', 24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS', 11: 'SIGSEGV', 6: 'SIGABRT' } as Record<number, string>)[n];
}
