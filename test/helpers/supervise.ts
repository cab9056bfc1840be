/** A SupervisedRun for the supervisor's tests: the real bubblewrap and prlimit, small limits. */
import type { SupervisedRun } from '../../src/sandbox/supervise.js';

export const MiB = 1048576;
export const SANDBOX_TOOLS = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false } as const;

export function sandboxSpec(command: string[], o: Partial<SupervisedRun> = {}, limits: { cpuSeconds?: number; wallMs?: number } = {}): SupervisedRun {
  return {
    tools: SANDBOX_TOOLS,
    command,
    tmpfsBytes: 8 * MiB,
    grants: { fonts: false, gpu: false },
    rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: limits.cpuSeconds ?? 30, fileSizeBytes: MiB, openFiles: 64 },
    wallMs: limits.wallMs ?? 20_000,
    ...o,
  };
}
