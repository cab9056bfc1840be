/** What `run --dry-run` shows: the exact command lines that would run, and the sandbox they run in. */
import { sandboxCommandLines, sandboxFds } from '../../sandbox/supervise.js';
import { describeProfile } from '../../sandbox/seccomp/index.js';
import type { OutputTarget } from '../../publish/destination.js';
import type { TranscodePlan } from '../../plan/job-plan.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';

export function dryRunView(policy: Policy, tools: JobTools, plan: TranscodePlan, target: OutputTarget, inputPath: string): Record<string, unknown> {
  // The output file is made just before the run; any descriptor stands for it here.
  const run = { ...plan.run, output: { fd: -1, name: plan.outputName } };
  const fds = sandboxFds(run);
  const shown = sandboxCommandLines(run, fds);
  const seccompProfile = tools.seccompProgram && policy.sandbox.seccomp !== 'none' ? describeProfile(policy.sandbox.seccomp) : undefined;
  return {
    argv: shown.argv,
    commands: { prlimit: shown.prlimit, ...(shown.bwrap ? { bwrap: shown.bwrap } : {}), ffmpeg: shown.command },
    shell: shown.shell,
    ffmpeg: plan.ffmpegArgv,
    sandbox: plan.sandbox,
    seccompProfile: seccompProfile ?? { profile: tools.seccompProfile, note: 'no seccomp filter' },
    binaries: tools.binaries,
    fds: {
      ...(fds.progress !== undefined ? { [fds.progress]: "ffmpeg's -progress report (a pipe to the monitor)" } : {}),
      ...(fds.status !== undefined ? { [fds.status]: "bubblewrap's --json-status-fd (a pipe to the supervisor)" } : {}),
      ...(fds.input !== undefined ? { [fds.input]: inputPath } : {}),
      ...(fds.seccomp !== undefined ? { [fds.seccomp]: `seccomp program (${tools.seccompProfile})` } : {}),
      ...(fds.output !== undefined ? { [fds.output]: `${target.dir}/.zt-ffmpeg-job-…/${plan.outputName} (made for this job, owned by uid ${tools.identity.uid})` } : {}),
      ...(fds.binary !== undefined ? { [fds.binary]: `${plan.ffmpegArgv[0] ?? 'ffmpeg'} (as posture checked it)` } : {}),
      ...(fds.prlimit !== undefined ? { [fds.prlimit]: `${tools.sandbox.prlimit} (as posture checked it; sets the task ceiling inside the sandbox)` } : {}),
    },
    sandboxUser: { uid: tools.identity.uid, gid: tools.identity.gid, ...(tools.identity.dropped ? { user: tools.identity.user } : {}) },
  };
}
