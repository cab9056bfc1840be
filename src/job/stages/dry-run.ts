/** What `run --dry-run` shows: the exact command lines that would run, and the sandbox they run in. */
import { fdLayout, sandboxCommandLines } from '../../sandbox/supervise.js';
import { describeProfile } from '../../sandbox/seccomp/index.js';
import type { OutputTarget } from '../../publish/destination.js';
import type { TranscodePlan } from '../../plan/job-plan.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';

export function dryRunView(policy: Policy, tools: JobTools, plan: TranscodePlan, target: OutputTarget, inputPath: string): Record<string, unknown> {
  // The output file is made just before the run; any descriptor stands for it here.
  const run = { ...plan.run, output: { fd: -1, name: plan.outputName } };
  const { layout } = fdLayout(run);
  const shown = sandboxCommandLines(run, layout);
  const seccompProfile = tools.seccompFile && policy.sandbox.seccomp !== 'none' ? describeProfile(policy.sandbox.seccomp) : undefined;
  return {
    argv: shown.argv,
    commands: { prlimit: shown.prlimit, ...(shown.bwrap ? { bwrap: shown.bwrap } : {}), ffmpeg: shown.command },
    shell: shown.shell,
    ffmpeg: plan.ffmpegArgv,
    sandbox: plan.sandbox,
    seccompProfile: seccompProfile ?? { profile: tools.seccompProfile, note: 'no seccomp filter' },
    binaries: tools.binaries,
    fds: {
      ...(layout.input !== undefined ? { [layout.input]: inputPath } : {}),
      ...(layout.seccomp !== undefined ? { [layout.seccomp]: `seccomp program (${tools.seccompProfile})` } : {}),
      ...(layout.output !== undefined ? { [layout.output]: `${target.dir}/.zt-ffmpeg-job-…/${plan.outputName} (made for this job, owned by uid ${tools.identity.uid})` } : {}),
      ...(layout.binary !== undefined ? { [layout.binary]: `${plan.ffmpegArgv[0] ?? 'ffmpeg'} (as posture checked it)` } : {}),
    },
    sandboxUser: { uid: tools.identity.uid, gid: tools.identity.gid, ...(tools.identity.dropped ? { user: tools.identity.user } : {}) },
  };
}
