/**
 * What a policy's sandbox looks like, without an input: the prlimit and bwrap command lines
 * every job of this policy runs under, and its seccomp profile. Pure; for `policy explain`. Built by the job plan's own
 * transcode sandbox, so the preview cannot drift from what runs.
 */
import type { Policy } from '../policy/types.js';
import { sandboxCommandLines, sandboxFds } from '../sandbox/supervise.js';
import { describeProfile, type ProfileDescription } from '../sandbox/seccomp/index.js';
import { transcodeSandbox } from './job-plan.js';

export interface SandboxPreview {
  readonly prlimit: readonly string[];
  readonly bwrap: readonly string[];
  readonly shell: string;
  readonly seccomp: ProfileDescription | { readonly profile: 'none' };
}

export function sandboxPreview(policy: Policy): SandboxPreview {
  const seccomp = policy.sandbox.seccomp;
  const site = {
    sandbox: { bwrap: policy.posture.binaries.bwrap.path ?? '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
    // Only where the program goes matters to the preview, not its bytes.
    seccompProgram: seccomp !== 'none' ? Buffer.alloc(0) : undefined,
    binary: policy.posture.binaries.ffmpeg.path ?? '/usr/bin/ffmpeg',
    binaryFd: -1,
  };
  // A transcode's layout: the input, its output file, the program, the binary, ffmpeg's progress pipe, bwrap's status pipe.
  const run = { ...transcodeSandbox(policy, site, { fd: 3, name: 'input.EXT' }, [site.binary, '…']), output: { fd: -1, name: 'output.EXT' }, progress: {} };
  const shown = sandboxCommandLines(run, sandboxFds(run));
  return {
    prlimit: shown.prlimit,
    bwrap: shown.bwrap ?? [],
    shell: shown.shell,
    seccomp: seccomp === 'none' ? { profile: 'none' } : describeProfile(seccomp),
  };
}
