/**
 * What a policy's sandbox looks like, without an input: the prlimit and bwrap command lines
 * every job of this policy runs under, and its seccomp profile. Pure; for `policy explain`.
 */
import type { Policy } from './types.js';
import { sandboxCommandLines, sandboxFds, type SupervisedRun } from '../sandbox/supervise.js';
import { describeProfile, type ProfileDescription } from '../sandbox/seccomp/index.js';
import { mib } from '../sandbox/prlimit.js';

export interface SandboxPreview {
  readonly prlimit: readonly string[];
  readonly bwrap: readonly string[];
  readonly shell: string;
  readonly seccomp: ProfileDescription | { readonly profile: 'none' };
}

export function sandboxPreview(policy: Policy): SandboxPreview {
  const l = policy.limits;
  const seccomp = policy.sandbox.seccomp;
  const run: SupervisedRun = {
    tools: { bwrap: policy.posture.binaries.bwrap.path ?? '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
    command: [policy.posture.binaries.ffmpeg.path ?? '/usr/bin/ffmpeg', '…'],
    inputFd: 3,
    inputName: 'input.EXT',
    jobDir: 'OUTPUT_DIR/.zt-ffmpeg-job-PID-XXXXXX',
    ...(seccomp !== 'none' ? { seccompFile: 'SECCOMP_PROGRAM' } : {}),
    tmpfsBytes: mib(policy.sandbox.tmpfsMiB),
    grants: policy.sandbox.grants,
    rlimits: { addressSpaceBytes: mib(l.addressSpaceMiB), cpuSeconds: l.cpuSeconds, fileSizeBytes: mib(l.outputMaxMiB), openFiles: l.openFiles },
    wallMs: l.wallSeconds * 1000,
    // A transcode's layout: ffmpeg's progress pipe, bwrap's status pipe, the input, the program.
    progress: {},
  };
  const shown = sandboxCommandLines(run, sandboxFds(run));
  return {
    prlimit: shown.prlimit,
    bwrap: shown.bwrap ?? [],
    shell: shown.shell,
    seccomp: seccomp === 'none' ? { profile: 'none' } : describeProfile(seccomp),
  };
}
