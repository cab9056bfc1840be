/**
 * Resource limits, applied with util-linux prlimit around bwrap so that every process of the
 * sandboxed tree inherits them. Core dumps are always off.
 */

export interface RlimitSpec {
  readonly addressSpaceBytes: number;
  readonly cpuSeconds: number;
  readonly fileSizeBytes: number;
  readonly openFiles: number;
}

export function buildPrlimitArgs(l: RlimitSpec): string[] {
  return [
    `--as=${l.addressSpaceBytes}`,
    `--cpu=${l.cpuSeconds}`,
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
