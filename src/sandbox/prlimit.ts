/**
 * Resource limits, applied with util-linux prlimit around bwrap so that every process of the
 * sandboxed tree inherits them. Core dumps are always off.
 *
 * RLIMIT_CPU gets a soft limit of cpuSeconds and a hard limit CPU_HARD_GRACE_SECONDS above it:
 * at the soft limit the kernel sends SIGXCPU (which ffmpeg catches and turns into an orderly
 * stop, exit status 255), at the hard limit SIGKILL. With soft = hard the kernel would send
 * only SIGKILL, and the cause could not be told from any other kill.
 *
 * There is deliberately no RLIMIT_NPROC: it is counted per real uid outside the user namespace
 * and not enforced at all for root, so limits.maxThreads is enforced by the monitor instead
 * (see src/monitor/monitor.ts).
 */

export interface RlimitSpec {
  readonly addressSpaceBytes: number;
  readonly cpuSeconds: number;
  readonly fileSizeBytes: number;
  readonly openFiles: number;
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

const MiB = 1024 * 1024;
export function mib(n: number): number {
  return n * MiB;
}
