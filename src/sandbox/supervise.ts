/**
 * Run one command inside the sandbox: prlimit → bwrap → command, with the input bound from an
 * open descriptor, an optional seccomp program handed to bwrap on its stdin (which can hold the
 * command back until the caller opens a gate: src/sandbox/start-gate.ts), live monitoring of the
 * tree, the job's budgets, and a kill path that always ends in SIGKILL of every process of the
 * tree. Returns what happened as a value; the caller decides what it means.
 *
 * Everything the sandbox writes is data from a hostile writer (src/sandbox/drain.ts): stdout,
 * stderr and ffmpeg's progress pipe are drained for the whole run at a bounded pace into a
 * fixed amount of memory; a flood is a breach that kills, never a closed pipe. Whether the
 * sandbox itself failed, and how the command ended, comes from bubblewrap's structured status
 * (src/sandbox/exit-status.ts), never from what the command printed.
 *
 * As root, the tree runs as the dedicated sandbox user (SandboxTools.runAs); the output is a
 * file the host made, inherited at /proc/self/fd/4; the binary posture checked is bound from
 * its descriptor; a cancelled job (SandboxTools.signal) is killed and says `interrupted`.
 */
import { existsSync, fstatSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { exec, type ExecStreams } from '../util/exec.js';
import type { RuleId } from '../rule-id.js';
import { buildBwrapArgs, sandboxEnv, FONT_DIRS, PROC_MASKED_DIRS, PROC_MASKED_FILES, type BwrapSpec } from './bwrap.js';
import { buildPrlimitArgs, type RlimitSpec } from './prlimit.js';
import { BoundedCapture, drainPaced, type Drain, type Pace } from './drain.js';
import { commandEnd, limitFromExit, parseBwrapStatus, MAX_STATUS_BYTES, type BwrapStatus, type CommandEnd, type ExitLimit } from './exit-status.js';
import { startMonitor, emptyPeaks, type Anomaly, type Breach, type MonitorLimits, type Peaks } from '../monitor/monitor.js';
import { DiagnosticsScanner } from '../monitor/diagnostics.js';
import { ProgressParser, judgeProgress, type ProgressSnapshot } from '../monitor/progress.js';
import type { Bound, OutputBudget, RunBudget } from '../monitor/budget.js';
import { judgeFinishedJob } from '../monitor/baseline.js';
import { ProcessTree } from '../monitor/proc.js';
import { watchTmpfs } from '../monitor/tmpfs-watch.js';
import { checkedProgram, handOverProgram } from './start-gate.js';
import { monotonicMs } from '../util/clock.js';

export { limitFromExit } from './exit-status.js';

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
  /** Descriptor of `prlimit` as posture checked it: bound over its path when it runs inside (rlimits.tasks). */
  readonly prlimitFd?: number;
  /** Cancels the job: the tree is killed, and the outcome says `interrupted`. */
  readonly signal?: AbortSignal;
}

/** The signals a job is interrupted by; anything else that aborts it counts as SIGINT. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export function interruptSignalOf(reason: unknown): InterruptSignal {
  return reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
}

/**
 * Start the command by its dynamic loader with these libraries first (a faster start whose
 * bindings were shown unchanged: src/posture/loader/order.ts). `fd` is the loader as checked,
 * bound over `path` inside the sandbox.
 */
export interface LoaderStart {
  readonly path: string;
  readonly fd: number;
  readonly preload: readonly string[];
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
  /** Start command[0] by its loader with a proven load order (in bwrap only, never with the gpu grant). */
  readonly loader?: LoaderStart;
  /** The seccomp program (BPF) bwrap installs, handed over on its stdin (start-gate.ts). */
  readonly seccompProgram?: Buffer;
  /**
   * The command may start only once this resolves (the job's decision record is durable). With
   * a seccomp program the sandbox is built meanwhile and waits for its program (start-gate.ts);
   * without one, nothing is spawned before it resolves. If it rejects, the command never starts
   * and the outcome says `withheld`.
   */
  readonly startGate?: Promise<void>;
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  readonly rlimits: RlimitSpec;
  /** The absolute wall-clock limit (limits.wallSeconds, or a probe's timeout). */
  readonly wallMs: number;
  readonly monitor?: MonitorLimits;
  /** The job's cost budget (CPU and wall per media-second, the stderr flood bound). */
  readonly budget?: RunBudget;
  /** Open ffmpeg's -progress pipe (fd CHILD_FD.progress) and hold the output to this budget. */
  readonly progress?: { readonly output?: OutputBudget };
  readonly onProgress?: (p: ProgressSnapshot) => void;
  /** The rule the file-size limit (rlimits.fileSizeBytes) stands for; default limits.outputMaxMiB. */
  readonly fileSizeRule?: RuleId;
  /** The media this job processes, for the learned baseline (echoed into the outcome). */
  readonly media?: { readonly seconds: number; readonly baselineKey: string };
  /** Most bytes of stdout kept (a probe's JSON); past it the tree is killed. Default 1 MiB. */
  readonly maxOutputBytes?: number;
  /** The sandboxed tree as soon as it exists (doctor reads its members' host credentials). */
  readonly onTree?: (tree: ProcessTree) => void;
}

export interface SupervisedOutcome {
  /** How the command ended, as prlimit/bwrap reported it (bwrap: 128+N for signal N). */
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** The same, from structured facts only (bwrap's status report). */
  readonly end: CommandEnd;
  readonly stdout: string;
  /** What was kept of the diagnostics: the head and the tail (see stderrBytes for all of it). */
  readonly stderr: string;
  readonly stderrBytes: number;
  readonly wallMs: number;
  readonly peaks: Peaks;
  readonly anomalies: readonly Anomaly[];
  /** Set when the supervisor killed the tree, with the rule that caused it. */
  readonly killedFor?: Breach;
  /** A kernel resource limit that stopped the command (RLIMIT_*), read from how it ended. */
  readonly limit?: ExitLimit;
  /** bwrap itself could not build the sandbox or execute the command (its status says so). */
  readonly sandboxFailed: boolean;
  readonly spawnFailed: boolean;
  /** Processes of the tree still alive after the kill path (should always be 0). */
  readonly leftBehind: number;
  readonly mediaSeconds?: number;
  readonly baselineKey?: string;
  /** The job was cancelled (SIGINT, SIGTERM, SIGHUP or a library caller's AbortSignal). */
  readonly interrupted?: InterruptSignal;
  /** The start gate refused: the command never started (the caller has the reason). */
  readonly withheld?: true;
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

/** The child's descriptors beyond stdio: each the fd number the sandboxed side sees. */
export interface SandboxFds {
  readonly input?: number;
  readonly output?: number;
  readonly seccomp?: number;
  readonly binary?: number;
  /** prlimit as posture checked it, for the task ceiling inside the sandbox (prlimit.ts). */
  readonly prlimit?: number;
  readonly progress?: number;
  readonly status?: number;
  /** The dynamic loader as checked, bound over its path (LoaderStart). */
  readonly loader?: number;
}

const sandboxed = (run: SupervisedRun): boolean => !run.tools.degraded && run.tools.bwrap !== undefined;

/**
 * The fixed child descriptor slots, so that a plan can name them before the run (ffmpeg writes
 * to /proc/self/fd/4 and reports to `-progress pipe:7`). The input (3) and the output (4) are
 * inherited by the sandboxed command itself: the output is a file the host made in the private
 * job directory, which the sandbox has no path to, so it can write into that one inode and do
 * nothing else on the host's file system. bwrap reads the seccomp program from its stdin (0, a
 * pipe: start-gate.ts), binds the binary from 6 over its own path and writes its status to 8.
 * prlimit, which sets the task ceiling inside, is bound from 5 over its own path.
 * A slot a run does not use is passed as 'ignore' (nothing there in the child).
 */
export const CHILD_FD = { seccomp: 0, input: 3, output: 4, prlimit: 5, binary: 6, progress: 7, status: 8, loader: 9 } as const;
export const SANDBOX_OUTPUT_PATH = `/proc/self/fd/${CHILD_FD.output}`;
/** The input as an inherited descriptor: always in degraded mode, and for inputInherited runs. */
export const INHERITED_INPUT_PATH = `/proc/self/fd/${CHILD_FD.input}`;

/**
 * Pure: which slots a run uses. Without bwrap (degraded) there is no seccomp program, no binary
 * to bind and no status pipe: prlimit runs the command directly, which inherits the input and
 * the output.
 */
export function sandboxFds(run: SupervisedRun): SandboxFds {
  const inBwrap = sandboxed(run);
  return {
    ...(run.inputFd !== undefined ? { input: CHILD_FD.input } : {}),
    ...(run.output !== undefined ? { output: CHILD_FD.output } : {}),
    ...(run.seccompProgram !== undefined && inBwrap ? { seccomp: CHILD_FD.seccomp } : {}),
    ...(run.binaryFd !== undefined && inBwrap ? { binary: CHILD_FD.binary } : {}),
    ...(run.rlimits.tasks !== undefined && run.tools.prlimitFd !== undefined && inBwrap ? { prlimit: CHILD_FD.prlimit } : {}),
    ...(run.progress ? { progress: CHILD_FD.progress } : {}),
    ...(inBwrap ? { status: CHILD_FD.status } : {}),
    ...(usesLoader(run) ? { loader: CHILD_FD.loader } : {}),
  };
}

/**
 * The loader start applies in bwrap only (degraded mode runs the command as it is), and never
 * with the gpu grant: hardware drivers are loaded later (dlopen), outside what its check saw.
 */
const usesLoader = (run: SupervisedRun): boolean => run.loader !== undefined && sandboxed(run) && !run.grants.gpu && run.binaryFd !== undefined;

/** Build the full argv (prlimit … bwrap … command) for display and for running. */
export function sandboxArgv(run: SupervisedRun, fds: SandboxFds = sandboxFds(run)): { file: string; args: string[] } {
  const inner: string[] = sandboxed(run) && run.tools.bwrap !== undefined ? [run.tools.bwrap, ...buildBwrapArgs(bwrapSpec(run, fds))] : [...run.command];
  return { file: run.tools.prlimit, args: [...buildPrlimitArgs(run.rlimits), ...inner] };
}

/** The exact command lines `supervise` would spawn, split by stage. */
export function sandboxCommandLines(run: SupervisedRun, fds: SandboxFds = sandboxFds(run)): SandboxCommandLines {
  const { file, args } = sandboxArgv(run, fds);
  const argv = [file, ...args];
  const prlimitEnd = argv.indexOf('--') + 1;
  const prlimit = argv.slice(0, prlimitEnd);
  const rest = argv.slice(prlimitEnd);
  const bwrapEnd = sandboxed(run) ? rest.length - run.command.length : 0;
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

function bwrapSpec(run: SupervisedRun, fds: SandboxFds): BwrapSpec {
  return {
    ...(fds.input !== undefined && run.inputInherited !== true ? { inputFd: fds.input, inputName: run.inputName ?? 'input' } : {}),
    ...(fds.binary !== undefined ? { binaryFd: fds.binary } : {}),
    ...(fds.loader !== undefined && run.loader ? { loader: { path: run.loader.path, fd: fds.loader, preload: run.loader.preload } } : {}),
    ...(fds.seccomp !== undefined ? { seccompFd: fds.seccomp } : {}),
    ...(fds.status !== undefined ? { jsonStatusFd: fds.status } : {}),
    tmpfsBytes: run.tmpfsBytes,
    grants: run.grants,
    hideFontDirs: run.grants.fonts ? [] : (run.tools.fontDirs ?? FONT_DIRS.filter((d) => existsSync(d))),
    // Same kernel inside and out: mask what exists here (bwrap cannot create files in /proc).
    maskProc: run.tools.procMask ?? presentProcMask(),
    env: sandboxEnv(),
    command: run.command,
    ...(run.rlimits.tasks !== undefined ? { taskLimit: { prlimit: run.tools.prlimit, tasks: run.rlimits.tasks, ...(fds.prlimit !== undefined ? { prlimitFd: fds.prlimit } : {}) } } : {}),
  };
}

/** How much of stderr is kept, and how fast each stream is read (see drain.ts). */
export const STDERR_HEAD_BYTES = 64 * 1024;
export const STDERR_TAIL_BYTES = 64 * 1024;
/**
 * Diagnostics: one read of at most 16 KiB (Node's buffer of a pipe holds about that much) every
 * 16 ms, about 1 MiB/s: ten thousand lines a second, far above any honest ffmpeg's warnings,
 * and a flood costs the wrapper a few percent of a core (npm run bench, case flood).
 */
export const STDERR_PACE: Pace = { bytesPerSecond: 1024 * 1024, minGapMs: 16 };
/** A probe's JSON: fast, it is what the caller waits for. */
export const STDOUT_PACE: Pace = { bytesPerSecond: 64 * 1024 * 1024, minGapMs: 0 };
/** ffmpeg's progress report (a few hundred bytes every 0.5 s) and bwrap's two status lines. */
export const PROGRESS_PACE: Pace = { bytesPerSecond: 256 * 1024, minGapMs: 50 };
export const DEFAULT_MAX_STDOUT_BYTES = 1024 * 1024;
/** The stderr bound of a run given no budget (a probe): the advanced stage's. */
export const DEFAULT_STDERR_BOUND: Bound = { limit: 16 * 1024 * 1024, rule: 'budget.maxStderrMiB', basis: 'the default of 16 MiB' };

/**
 * The descriptors a run passes beyond stdio, in child slot order from 3 ('ignore' fills a gap):
 * prlimit and bwrap inherit them; bwrap consumes the input and its status pipe, and ffmpeg
 * inherits the progress pipe. (The seccomp program comes on stdin.)
 */
export function childDescriptors(run: SupervisedRun, fds: SandboxFds): Array<number | 'pipe' | 'ignore'> {
  const at = new Map<number, number | 'pipe'>();
  if (fds.input !== undefined && run.inputFd !== undefined) at.set(fds.input, run.inputFd);
  if (fds.output !== undefined && run.output !== undefined) at.set(fds.output, run.output.fd);
  if (fds.binary !== undefined && run.binaryFd !== undefined) at.set(fds.binary, run.binaryFd);
  if (fds.prlimit !== undefined && run.tools.prlimitFd !== undefined) at.set(fds.prlimit, run.tools.prlimitFd);
  if (fds.loader !== undefined && run.loader !== undefined) at.set(fds.loader, run.loader.fd);
  if (fds.progress !== undefined) at.set(fds.progress, 'pipe');
  if (fds.status !== undefined) at.set(fds.status, 'pipe');
  const last = Math.max(2, ...at.keys());
  return Array.from({ length: last - 2 }, (_, i) => at.get(i + 3) ?? 'ignore');
}

/** The wall-clock limit: the job's wall budget, else the absolute limit. */
function wallBound(run: SupervisedRun): Bound {
  const cap: Bound = { limit: run.wallMs, rule: 'limits.wallSeconds', basis: `limits.wallSeconds ${Math.round(run.wallMs / 1000)} s` };
  const b = run.budget?.wallMs;
  return b && b.limit < run.wallMs ? b : cap;
}

/** Monitor limits with the CPU budget of the whole tree (RLIMIT_CPU is per process). */
function monitorLimits(run: SupervisedRun): MonitorLimits | undefined {
  if (!run.monitor) return undefined;
  const b = run.budget?.cpuMs;
  const capMs = run.rlimits.cpuSeconds * 1000;
  if (run.monitor.cpuMs !== undefined) return run.monitor;
  if (b && b.limit < capMs) return { ...run.monitor, cpuMs: b.limit, cpuRule: b.rule, cpuBasis: b.basis };
  return { ...run.monitor, cpuMs: capMs };
}

/** An outcome for a run that never started: the job was already cancelled, or its gate refused. */
function notStarted(run: SupervisedRun, why: { readonly interrupted: InterruptSignal } | { readonly withheld: true }): SupervisedOutcome {
  return {
    exitCode: undefined,
    signal: undefined,
    end: { kind: 'not-run' },
    stdout: '',
    stderr: '',
    stderrBytes: 0,
    wallMs: 0,
    peaks: emptyPeaks(),
    anomalies: [],
    sandboxFailed: false,
    spawnFailed: false,
    leftBehind: 0,
    ...why,
    ...(run.media ? { mediaSeconds: run.media.seconds, baselineKey: run.media.baselineKey } : {}),
  };
}

export async function supervise(run: SupervisedRun): Promise<SupervisedOutcome> {
  const outcome = await superviseOnce(run);
  // A loader start that failed because a preloaded library is gone or changed since it was
  // checked is run again as the command alone: the load order is only ever a faster start, never
  // a reason to refuse. Whether it is gone is read on the host, not from what the sandbox printed
  // (a hostile probe could print the loader's words or exit 127): the sandbox cannot earn a retry.
  if (run.loader !== undefined && usesLoader(run) && loaderStartFailed(outcome) && !preloadsStillThere(run.loader)) {
    const { loader: _unused, ...plain } = run;
    return superviseOnce(plain);
  }
  return outcome;
}

/** Pure: the dynamic loader, run as the program, looks like it failed before the command ran (or said it ignored a preload). */
export function loaderStartFailed(o: Pick<SupervisedOutcome, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'interrupted' | 'killedFor' | 'withheld'>): boolean {
  if (o.interrupted !== undefined || o.killedFor !== undefined || o.withheld === true || o.signal !== undefined) return false;
  return (o.exitCode === 127 && o.stdout === '') || /^ERROR: ld\.so: /.test(o.stderr);
}

/** Host fact: every preloaded library is still a root-owned regular file no one else may write. */
export function preloadsStillThere(loader: LoaderStart): boolean {
  return loader.preload.every((p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0;
  });
}

async function superviseOnce(run: SupervisedRun): Promise<SupervisedOutcome> {
  const cancel = run.tools.signal;
  if (cancel?.aborted) return notStarted(run, { interrupted: interruptSignalOf(cancel.reason) });
  const fds = sandboxFds(run);
  const program = fds.seccomp !== undefined && run.seccompProgram !== undefined ? checkedProgram(run.seccompProgram) : undefined;
  if (program === undefined && run.startGate !== undefined) {
    // Nothing to hold the command back with once it is spawned: spawn only once the gate opens.
    const open = await run.startGate.then(() => true, () => false);
    if (!open) return notStarted(run, { withheld: true });
    if (cancel?.aborted) return notStarted(run, { interrupted: interruptSignalOf(cancel.reason) });
    return superviseSpawned({ ...run, startGate: undefined }, fds, undefined);
  }
  return superviseSpawned(run, fds, program);
}

/** The live side of one run: the streams, the monitor, the timers, the kill path. */
class RunWatch {
  readonly anomalies: Anomaly[] = [];
  killedFor: Breach | undefined;
  interrupted: InterruptSignal | undefined;
  withheld = false;
  /** The run is over (its process waited for): a gate that opens now starts nothing. */
  ended = false;
  tree: ProcessTree | undefined;
  monitor: ReturnType<typeof startMonitor> | undefined;
  readonly stdout: BoundedCapture;
  readonly stderr = new BoundedCapture(STDERR_HEAD_BYTES, STDERR_TAIL_BYTES);
  readonly status = new BoundedCapture(MAX_STATUS_BYTES, 0);
  readonly drains: Drain[] = [];
  private readonly scanner: DiagnosticsScanner;
  private readonly progress = new ProgressParser();

  constructor(private readonly run: SupervisedRun) {
    this.stdout = new BoundedCapture(run.maxOutputBytes ?? DEFAULT_MAX_STDOUT_BYTES, 0);
    this.scanner = new DiagnosticsScanner(run.monitor?.onEscapeAttempt ?? 'warn', run.command);
  }

  /**
   * Wait until every stream has ended (the tree is dead, so they end as soon as the last bytes
   * are read). Bounded: a writer the kill path could not reach (counted in leftBehind) may keep
   * a pipe open, and the job must still end.
   */
  async drained(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(this.drains.map((d) => d.done)), late]);
    clearTimeout(timer);
    // Whatever has not ended by now is held open by a survivor (leftBehind): stop reading it.
    for (const d of this.drains) d.stop();
  }

  /** The start gate refused: kill the tree before its command starts; the outcome says `withheld`. */
  withhold(): void {
    if (this.killedFor || this.interrupted || this.withheld) return;
    this.withheld = true;
    this.tree?.killOnce();
  }

  /** Killed, interrupted, withheld or over: nothing more may start. */
  get stopped(): boolean {
    return this.killedFor !== undefined || this.interrupted !== undefined || this.withheld || this.ended;
  }

  kill(b: Breach): void {
    if (this.killedFor || this.interrupted) return;
    this.killedFor = b;
    // bwrap --new-session: ffmpeg is not in our process group, so walk the tree.
    this.tree?.killOnce();
  }

  /** Cancelled: kill the tree; the outcome says `interrupted`, not a breach. */
  interrupt(signal: InterruptSignal): void {
    if (this.interrupted || this.killedFor) return;
    this.interrupted = signal;
    this.tree?.killOnce();
  }

  attach(s: ExecStreams, fds: SandboxFds): void {
    const drain = (stream: Readable | undefined, pace: Pace, onChunk: (c: Buffer) => void): void => {
      if (stream) this.drains.push(drainPaced(stream, pace, onChunk));
    };
    drain(s.stdout, STDOUT_PACE, (c) => this.onStdout(c));
    drain(s.stderr, STDERR_PACE, (c) => this.onStderr(c));
    if (fds.progress !== undefined) drain(s.pipes.get(fds.progress), PROGRESS_PACE, (c) => this.onProgress(c));
    if (fds.status !== undefined) drain(s.pipes.get(fds.status), PROGRESS_PACE, (c) => this.status.push(c));
  }

  private onStdout(c: Buffer): void {
    this.stdout.push(c);
    const max = this.run.maxOutputBytes ?? DEFAULT_MAX_STDOUT_BYTES;
    if (this.stdout.bytes > max) this.kill({ rule: 'sandbox.stdoutBytes', actual: this.stdout.bytes, limit: max, message: `the sandboxed command wrote more than ${max} bytes to stdout` });
  }

  private onStderr(c: Buffer): void {
    this.stderr.push(c);
    const bound = this.run.budget?.stderrBytes ?? DEFAULT_STDERR_BOUND;
    if (this.stderr.bytes > bound.limit) {
      this.kill({ rule: bound.rule, actual: this.stderr.bytes, limit: bound.limit, message: `ffmpeg flooded its diagnostics: more than ${bound.limit} bytes (${bound.basis})` });
      return;
    }
    if (this.killedFor) return;
    for (const a of this.scanner.push(c.toString('utf8'))) {
      this.anomalies.push(a);
      if (a.action === 'kill') this.kill({ rule: 'monitor.escape-attempt', actual: a.evidence ?? a.message, limit: 'no network, no paths outside the sandbox', message: `${a.message}; ffmpeg printed (untrusted): ${a.evidence ?? ''}` });
    }
  }

  private onProgress(c: Buffer): void {
    for (const p of this.progress.push(c.toString('utf8'))) {
      this.run.onProgress?.(p);
      const out = this.run.progress?.output;
      const b = out ? judgeProgress(p, out) : undefined;
      if (b) this.kill(b);
    }
  }
}

/** How long a gated run may wait for its gate (the decision record waits up to 60 s for the audit lock). */
const GATE_WAIT_MS = 90_000;

async function superviseSpawned(run: SupervisedRun, fds: SandboxFds, program: Buffer | undefined): Promise<SupervisedOutcome> {
  const { file, args } = sandboxArgv(run, fds);
  const w = new RunWatch(run);
  const limits = monitorLimits(run);
  const wall = wallBound(run);
  const wallS = Math.round(wall.limit / 100) / 10;
  // The clocks run from the command's start: the gate's opening, when there is one. Until then
  // the tree is bwrap waiting for its program, and neither the wall clock nor the monitor
  // (which judges time against the job's media) counts that wait.
  let wallTimer: NodeJS.Timeout | undefined;
  let gateTimer: NodeJS.Timeout | undefined;
  let tmpfs: ReturnType<typeof watchTmpfs> | undefined;
  const execStarted = monotonicMs();
  let commandStarted: number | undefined;
  const commandStarts = (): void => {
    if (commandStarted !== undefined || w.stopped) return;
    commandStarted = monotonicMs();
    clearTimeout(gateTimer);
    wallTimer = setTimeout(() => {
      w.kill({ rule: wall.rule, actual: `>${wallS}`, limit: wallS, message: `the job ran longer than its wall-clock budget of ${wallS} s (${wall.basis})` });
    }, wall.limit);
    if (limits && w.tree) {
      w.monitor = startMonitor(w.tree, limits, (b) => w.kill(b), (a) => w.anomalies.push(a));
      if (sandboxed(run)) tmpfs = watchTmpfs(w.tree, run.tmpfsBytes, limits.sampleMs, (b) => w.kill(b));
    }
  };
  // A gate that never opens (an audit lock held for good) must not hold a sandbox for ever.
  if (run.startGate !== undefined) gateTimer = setTimeout(() => w.withhold(), GATE_WAIT_MS);
  let stdin: Writable | undefined;
  const cancel = run.tools.signal;
  const onAbort = (): void => w.interrupt(interruptSignalOf(cancel?.reason));
  cancel?.addEventListener('abort', onAbort, { once: true });
  // Cancelled before the listener existed (while the program was read): a listener never hears that.
  if (cancel?.aborted) onAbort();
  try {
    const r = await exec(file, args, {
      // A backstop only: the wall timer above kills first and records why.
      timeoutMs: wall.limit + 10_000 + (run.startGate ? GATE_WAIT_MS : 0),
      env: {},
      stdin: program ? 'pipe' : 'ignore',
      extraFds: childDescriptors(run, fds),
      // A root caller's sandbox runs as the dedicated sandbox user: bwrap then maps to it.
      ...(run.tools.runAs ? { uid: run.tools.runAs.uid, gid: run.tools.runAs.gid } : {}),
      unbuffered: { stdout: true, stderr: true },
      onSpawn: (pid) => {
        // No read of /proc here: the child (prlimit) is about to execute bwrap, and reading its
        // stat during that execve() waits for it to finish (about 2 ms, measured), on the path
        // to the command's start. The first scan (the monitor's, or the kill path's) finds the
        // root and what it has started by then; a whole scan now would find only the root.
        w.tree = new ProcessTree(pid);
        if (w.interrupted) w.tree.killOnce();
        run.onTree?.(w.tree);
        if (run.startGate === undefined) commandStarts();
      },
      onStreams: (s) => {
        w.attach(s, fds);
        stdin = s.stdin;
        if (program && stdin) handOverProgram(stdin, program, run.startGate, { stopped: () => w.stopped, onOpened: commandStarts, onRefused: () => w.withhold() });
      },
      // From here on the root's pid may name another process (the streams drain after this).
      onExit: () => w.tree?.markRootReaped(),
    });
    w.ended = true;
    stdin?.destroy();
    clearTimeout(wallTimer);
    clearTimeout(gateTimer);
    w.monitor?.stop();
    tmpfs?.stop();
    // Whatever happened, nothing of the tree may outlive the job; then every stream has ended.
    const leftBehind = w.tree ? await w.tree.killAll() : 0;
    await w.drained(leftBehind === 0 ? 10_000 : 1000);
    // The wait at the gate was bwrap's, not the command's: the run's wall time starts after it.
    return outcomeOf(run, { ...r, wallMs: r.wallMs - ((commandStarted ?? execStarted) - execStarted) }, w, leftBehind);
  } finally {
    w.ended = true;
    stdin?.destroy();
    clearTimeout(wallTimer);
    clearTimeout(gateTimer);
    tmpfs?.stop();
    cancel?.removeEventListener('abort', onAbort);
  }
}

/** The output file's size, from the host's own descriptor (nothing when it cannot be read). */
function outputSize(fd: number): { outputBytes?: number } {
  try {
    return { outputBytes: fstatSync(fd).size };
  } catch {
    return {};
  }
}

/** How a program reports a refused fork or thread (strerror(EAGAIN); dash says "Cannot fork"). */
const EAGAIN_TEXT = /Resource temporarily unavailable|Cannot fork/;

function outcomeOf(run: SupervisedRun, r: Awaited<ReturnType<typeof exec>>, w: RunWatch, leftBehind: number): SupervisedOutcome {
  const peaks = w.monitor?.peaks ?? emptyPeaks();
  const status: BwrapStatus = parseBwrapStatus(w.status.text());
  const end = commandEnd({ degraded: !sandboxed(run), spawnFailed: r.spawnFailed, exitCode: r.exitCode, signal: r.signal, status });
  const ok = end.kind === 'exited' && end.code === 0;
  const slow = run.monitor?.slowJob;
  if (slow && !w.killedFor && ok && !w.anomalies.some((a) => a.kind === 'slow-job')) {
    const j = judgeFinishedJob(slow, { wallMs: r.wallMs, cpuMs: peaks.cpuMs });
    if (j) w.anomalies.push({ kind: 'slow-job', action: 'warn', message: j.message, evidence: j.evidence });
  }
  const limit = w.killedFor || w.interrupted || ok
    ? undefined
    : limitFromExit(end, {
        cpuMs: peaks.cpuMs,
        cpuLimitMs: run.rlimits.cpuSeconds * 1000,
        vmPeakBytes: peaks.vmBytes,
        addressSpaceBytes: run.rlimits.addressSpaceBytes,
        fileSizeBytes: run.rlimits.fileSizeBytes,
        fileSizeRule: run.fileSizeRule ?? 'limits.outputMaxMiB',
        ...(run.output ? outputSize(run.output.fd) : {}),
        init: sandboxed(run),
        ...(run.rlimits.tasks !== undefined && sandboxed(run) ? { tasks: { limit: run.rlimits.tasks, met: peaks.threads > run.rlimits.tasks || EAGAIN_TEXT.test(w.stderr.text()) } } : {}),
      });
  return {
    exitCode: end.kind === 'exited' ? end.code : r.exitCode,
    signal: end.kind === 'signaled' ? end.signal : r.signal,
    end,
    stdout: w.stdout.text(),
    stderr: w.stderr.text(),
    stderrBytes: w.stderr.bytes,
    wallMs: r.wallMs,
    peaks,
    anomalies: w.anomalies,
    ...(w.killedFor ? { killedFor: w.killedFor } : {}),
    ...(limit ? { limit } : {}),
    sandboxFailed: sandboxed(run) && !w.killedFor && !w.interrupted && !w.withheld && !r.spawnFailed && end.kind === 'not-run',
    spawnFailed: r.spawnFailed,
    leftBehind,
    ...(run.media ? { mediaSeconds: run.media.seconds, baselineKey: run.media.baselineKey } : {}),
    ...(w.interrupted ? { interrupted: w.interrupted } : {}),
    ...(w.withheld ? { withheld: true as const } : {}),
  };
}
