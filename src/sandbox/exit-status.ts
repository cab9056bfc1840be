/**
 * How a sandboxed command ended, from structured facts only: bubblewrap's own status report
 * (`--json-status-fd`), the exit status or signal, the signals the kernel's resource limits
 * send, and what the monitor measured of the tree. Never from the command's diagnostics: ffmpeg
 * prints what its input and arguments make it print, so "bwrap: execvp …" or "Cannot allocate
 * memory" on its stderr is data, not a verdict.
 *
 * bwrap writes `{ "child-pid": N, … }` once the sandbox's first process exists and
 * `{ "exit-code": N }` when the command ends, but only if the command was actually executed:
 * its setup writes one byte to a close-on-exec pipe right before execvp and a second one if
 * execvp fails (bubblewrap.c, report_child_exit_status). So an exit code on the status fd says
 * "the sandbox was built and the command ran, and this is how it ended"; none says "the sandbox
 * could not be built, or the command could not be executed".
 */
import type { RuleId } from '../rule-id.js';

export interface BwrapStatus {
  readonly childPid?: number;
  readonly exitCode?: number;
}

/** Most bytes of status read: bwrap writes two short lines. */
export const MAX_STATUS_BYTES = 64 * 1024;

/** Pure: the JSON documents bwrap wrote to its status fd, one per line; anything else ignored. */
export function parseBwrapStatus(text: string): BwrapStatus {
  let childPid: number | undefined;
  let exitCode: number | undefined;
  for (const line of text.slice(0, MAX_STATUS_BYTES).split('\n')) {
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof doc !== 'object' || doc === null) continue;
    const d = doc as Record<string, unknown>;
    const pid = d['child-pid'];
    const code = d['exit-code'];
    if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) childPid = pid;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 255) exitCode = code;
  }
  return { ...(childPid !== undefined ? { childPid } : {}), ...(exitCode !== undefined ? { exitCode } : {}) };
}

/** How the command itself ended. */
export type CommandEnd =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: string }
  /** It never ran: prlimit or bwrap could not be spawned, or bwrap reported no exit of the command. */
  | { readonly kind: 'not-run' };

const SIGNALS: Readonly<Record<number, string>> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS' };

/** bwrap (and a shell) report death by signal N as exit 128+N. */
function fromStatus(code: number): CommandEnd {
  const sig = code > 128 && code < 160 ? SIGNALS[code - 128] : undefined;
  return sig ? { kind: 'signaled', signal: sig } : { kind: 'exited', code };
}

/**
 * Pure: the command's end. In the sandbox, only bwrap's status report counts; degraded (no
 * bwrap), prlimit exec'd the command itself, so its exit status or signal is the command's.
 */
export function commandEnd(p: { degraded: boolean; spawnFailed: boolean; exitCode: number | undefined; signal: string | undefined; status: BwrapStatus }): CommandEnd {
  if (p.spawnFailed) return { kind: 'not-run' };
  if (!p.degraded) return p.status.exitCode === undefined ? { kind: 'not-run' } : fromStatus(p.status.exitCode);
  if (p.signal !== undefined) return { kind: 'signaled', signal: p.signal };
  return p.exitCode === undefined ? { kind: 'not-run' } : fromStatus(p.exitCode);
}

/** What the monitor measured, and the limits the run was given. */
export interface ExitContext {
  /** CPU time of the tree and RLIMIT_CPU (per process), in ms. */
  readonly cpuMs: number;
  readonly cpuLimitMs: number;
  /** Largest address space (VmSize) of one process seen, and RLIMIT_AS, in bytes. */
  readonly vmPeakBytes: number;
  readonly addressSpaceBytes: number;
  /** The run's file-size limit (RLIMIT_FSIZE) and the rule it stands for. */
  readonly fileSizeBytes: number;
  readonly fileSizeRule: RuleId;
  /**
   * The size of the output file at the end, read by the host from its own descriptor (absent
   * for a run with no output). A write past RLIMIT_FSIZE fails with EFBIG when the command is
   * its namespace's init, which gets no SIGXFSZ (prlimit.ts).
   */
  readonly outputBytes?: number;
  /**
   * The command was its PID namespace's init (in bwrap): no signal without a handler kills it
   * but SIGKILL, so a "killed by SIGXCPU/SIGXFSZ" status can only be its own exit(152/153).
   */
  readonly init?: boolean;
  /**
   * The task ceiling set inside the sandbox (RLIMIT_NPROC, prlimit.ts), and whether the run
   * shows that it was met: the diagnostics name EAGAIN, or the monitor counted the ceiling.
   */
  readonly tasks?: { readonly limit: number; readonly met: boolean };
}

/** A limit that stopped the command: its rule, the limit's value and what happened. */
export interface ExitLimit {
  readonly rule: RuleId;
  readonly limit: number | string;
  readonly message: string;
}

/** A process whose address space came this close to RLIMIT_AS before failing met the limit. */
export const ADDRESS_SPACE_SHARE = 0.9;

const MiB = 1048576;

/**
 * Pure: the kernel resource limit that stopped the command, if its end shows one. ffmpeg catches
 * SIGXCPU and stops in an orderly way with status 255 (123 after more than three signals), so
 * those statuses count when the tree's CPU time is near the limit; a SIGKILL nobody here sent
 * counts as the CPU hard limit when the CPU time is past most of it. RLIMIT_AS sends no
 * signal: a failure counts as the address-space limit when the monitor saw a process's address
 * space near it, or when the dynamic loader could not load the program at all (status 127,
 * which ffmpeg itself never uses; the libraries are the same /usr the posture checked).
 * Past RLIMIT_FSIZE a namespace init gets EFBIG, not SIGXFSZ: a failure counts as the file-size
 * limit when the output file, as the host reads it, has reached the limit.
 * RLIMIT_NPROC sends no signal either: a failure counts as the task ceiling when the
 * diagnostics name EAGAIN or the monitor counted as many tasks (they are the sandbox's own
 * words, but they only name the cause of a failure that stands anyway).
 */
export function limitFromExit(end: CommandEnd, ctx: ExitContext): ExitLimit | undefined {
  const cpu = { rule: 'limits.cpuSeconds' as const, limit: `${Math.round(ctx.cpuLimitMs / 1000)} s` };
  const as = { rule: 'limits.addressSpaceMiB' as const, limit: `${Math.round(ctx.addressSpaceBytes / MiB)} MiB` };
  if (end.kind === 'not-run') return undefined;
  if (end.kind === 'signaled') {
    if (ctx.init && (end.signal === 'SIGXCPU' || end.signal === 'SIGXFSZ')) return undefined;
    if (end.signal === 'SIGXCPU') return { ...cpu, message: 'the CPU-time limit was reached (SIGXCPU)' };
    if (end.signal === 'SIGXFSZ') return { rule: ctx.fileSizeRule, limit: ctx.fileSizeBytes, message: `the output reached the file-size limit of ${ctx.fileSizeBytes} bytes (SIGXFSZ)` };
    if (end.signal === 'SIGKILL' && ctx.cpuMs >= 0.8 * ctx.cpuLimitMs) return { ...cpu, message: 'the CPU-time hard limit was reached (SIGKILL by the kernel)' };
    return undefined;
  }
  if (end.code === 0) return undefined;
  if (ctx.outputBytes !== undefined && ctx.fileSizeBytes > 0 && ctx.outputBytes >= ctx.fileSizeBytes) {
    return { rule: ctx.fileSizeRule, limit: ctx.fileSizeBytes, message: `the output reached the file-size limit of ${ctx.fileSizeBytes} bytes (a write past it fails: EFBIG)` };
  }
  if ((end.code === 255 || end.code === 123) && ctx.cpuMs >= 0.5 * ctx.cpuLimitMs) return { ...cpu, message: 'the CPU-time limit was reached (SIGXCPU; ffmpeg stopped)' };
  const asMiB = Math.round(ctx.addressSpaceBytes / MiB);
  if (end.code === 127) return { ...as, message: `the program could not be loaded in the sandbox (status 127 from the dynamic loader) under the address-space limit of ${asMiB} MiB` };
  if (ctx.addressSpaceBytes > 0 && ctx.vmPeakBytes >= ADDRESS_SPACE_SHARE * ctx.addressSpaceBytes) {
    return { ...as, message: `the address space of a sandboxed process reached ${Math.round(ctx.vmPeakBytes / MiB)} MiB of the ${asMiB} MiB limit` };
  }
  // After the address space: a thread whose stack cannot be mapped under RLIMIT_AS is EAGAIN too.
  if (ctx.tasks?.met) {
    return { rule: 'limits.maxThreads', limit: ctx.tasks.limit, message: `the sandbox reached its ceiling of ${ctx.tasks.limit} tasks: the kernel refused another thread or process (EAGAIN)` };
  }
  return undefined;
}
