/**
 * Resource limits, applied with util-linux prlimit around bwrap so that every process of the
 * sandboxed tree inherits them. Core dumps are always off.
 *
 * RLIMIT_CPU gets a soft limit of cpuSeconds and a hard limit CPU_HARD_GRACE_SECONDS above it:
 * at the soft limit the kernel sends SIGXCPU (which ffmpeg catches and turns into an orderly
 * stop, exit status 255), at the hard limit SIGKILL. With soft = hard the kernel would send
 * only SIGKILL, and the cause could not be told from any other kill.
 *
 * In the sandbox the command is its PID namespace's init (bwrap --as-pid-1, see bwrap.ts), and
 * the kernel gives an init no default action for a signal it does not force (only SIGKILL and
 * SIGSTOP, and faults). So:
 * - SIGXCPU stops ffmpeg, which has a handler for it. A program without one (ffprobe) runs on to
 *   the hard limit's SIGKILL. For a probe that is the end of the file either way: one that runs
 *   into its wall clock (equal to its CPU limit) or into that SIGKILL is refused.
 * - Past RLIMIT_FSIZE a write fails with EFBIG instead of SIGXFSZ. The host then names the limit
 *   from the output file's size, which it reads itself (exit-status.ts).
 * - A crash (SIGSEGV, SIGSYS from seccomp) still ends it, and SIGKILL from the host or from
 *   --die-with-parent always does.
 *
 * RLIMIT_NPROC is not set here, around bwrap: there it would count every process of the host
 * user (the caller's whole session, or every job of the dedicated sandbox user at once). It is
 * set inside the sandbox instead (RlimitSpec.tasks, taskLimitArgs), where the kernel counts it
 * per user namespace, that is per sandbox:
 * - Since Linux 5.14 the count is kept per (user namespace, uid), and a new task must fit under
 *   the limit of the task that makes it in its own namespace, and under the limit its namespace's
 *   creator had, for every namespace above.
 * - bwrap creates the namespace under the caller's own (unchanged) limit. The command is then
 *   run by a second prlimit, inside: `prlimit --nproc=N:N -- ffmpeg …`. So every job gets its
 *   own ceiling of N tasks (threads and processes, and exited ones not yet reaped), and no job's
 *   tasks count against another's.
 * - The sandbox has no capability in the initial namespace, so it cannot raise the hard limit.
 * - A fork or thread bomb stops at N with EAGAIN, between two of the monitor's samples. A probe
 *   has no monitor at all. Measured on a 2-core machine: without this, a fork bomb in the
 *   sandbox held 32,413 of the host's 32,768 pids within a few of the monitor's samples, and
 *   killing it took 20–70 s.
 * - Every task of the sandbox descends from the command, which is the sandbox's pid 1 (bwrap
 *   --as-pid-1): there is no reaper of bwrap's own, which would keep the caller's limit for what
 *   it forked, and whose memory the sandbox could write (/proc/1/mem).
 * Degraded mode (no bwrap, no user namespace) has no such ceiling: only the monitor counts, and
 * a probe has no bound on its tasks but its wall clock.
 */

export interface RlimitSpec {
  readonly addressSpaceBytes: number;
  readonly cpuSeconds: number;
  readonly fileSizeBytes: number;
  readonly openFiles: number;
  /**
   * RLIMIT_NPROC of the sandboxed command, set inside the sandbox's user namespace (see above):
   * the most tasks the sandbox may hold at once.
   */
  readonly tasks?: number;
}

export const CPU_HARD_GRACE_SECONDS = 2;

export function buildPrlimitArgs(l: RlimitSpec): string[] {
  return [
    `--as=${l.addressSpaceBytes}`,
    `--cpu=${l.cpuSeconds}:${l.cpuSeconds + CPU_HARD_GRACE_SECONDS}`,
    `--fsize=${l.fileSizeBytes}`,
    `--nofile=${l.openFiles}`,
    '--core=0',
    '--',
  ];
}

/** The words that run `command` under the task ceiling, inside the sandbox: `prlimit --nproc=N:N --`. */
export function taskLimitArgs(prlimit: string, tasks: number): string[] {
  return [prlimit, `--nproc=${tasks}:${tasks}`, '--'];
}

const MiB = 1024 * 1024;
export function mib(n: number): number {
  return n * MiB;
}
