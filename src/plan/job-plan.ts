/**
 * The job plan: policy + probe + detected capabilities → every command line and sandbox spec
 * of the job. Pure: no I/O, no clock. The input pins (demuxer, decoders, limits, hardening) are
 * computed once and shared by the deep check and the transcode, so the bytes ffmpeg decodes
 * are read exactly the way the deep check read them.
 */
import { buildDeepCheckArgv, buildFfmpegArgv } from './ffmpeg-argv.js';
import type { HardeningArgs } from '../inspect/hardening.js';
import { demuxerNames } from '../inspect/formats.js';
import type { ProbeResult } from '../inspect/probe-result.js';
import type { OperationTarget, Policy } from '../policy/types.js';
import { mib } from '../sandbox/prlimit.js';
import { SANDBOX_INPUT_DIR, SANDBOX_JOB_DIR } from '../sandbox/bwrap.js';
import type { SandboxTools, SupervisedRun } from '../sandbox/supervise.js';
import { baselineKeyString, type Baseline } from '../monitor/baseline.js';

/** How ffmpeg may read the input: the same for the deep check and the transcode. */
export interface InputPins {
  readonly ffmpegPath: string;
  readonly inputPath: string;
  /** The demuxer ffprobe identified (first name of its format_name). */
  readonly demuxer: string;
  /** Codecs ffprobe found; only their decoders are allowed. */
  readonly codecs: readonly string[];
  readonly maxPixels: number;
  readonly maxDurationSeconds: number;
  readonly threads: number;
  readonly probesize: number;
  readonly analyzeDurationUs: number;
  readonly hardening?: HardeningArgs;
}

/** What the sandbox binds for the input: the descriptor that was hashed, under a fixed name. */
export interface SandboxInput {
  readonly fd: number;
  /** Name inside the sandbox (input.<ext>); the host path only in degraded mode. */
  readonly name: string;
  readonly hostPath: string;
}

export interface PlanTools {
  readonly sandbox: SandboxTools;
  readonly ffmpeg: string;
  readonly seccompFile: string | undefined;
}

/** The codecs of the audio and video streams ffprobe found (codec names, not decoder names). */
export function probedCodecs(p: ProbeResult): string[] {
  const out = new Set<string>();
  for (const s of p.streams) if ((s.codecType === 'video' || s.codecType === 'audio') && s.codecName) out.add(s.codecName);
  return [...out];
}

export function sandboxInputPath(input: SandboxInput, degraded: boolean): string {
  return degraded ? input.hostPath : `${SANDBOX_INPUT_DIR}/${input.name}`;
}

export function inputPins(policy: Policy, tools: PlanTools, input: SandboxInput, probe: ProbeResult, hardening: HardeningArgs | undefined): InputPins {
  return {
    ffmpegPath: tools.ffmpeg,
    inputPath: sandboxInputPath(input, tools.sandbox.degraded),
    demuxer: demuxerNames(probe.formatName)[0] ?? 'none',
    codecs: probedCodecs(probe),
    maxPixels: policy.input.maxPixels,
    maxDurationSeconds: policy.input.maxDurationSeconds,
    threads: policy.limits.ffmpegThreads,
    probesize: policy.input.probe.probesize,
    analyzeDurationUs: policy.input.probe.analyzeDurationUs,
    ...(hardening ? { hardening } : {}),
  };
}

/** The sandbox every ffmpeg of the job runs in under the policy's job limits (deep check and transcode). */
function jobSandbox(policy: Policy, tools: PlanTools, input: SandboxInput, command: readonly string[], opts: { fileSizeBytes: number; grants: Policy['sandbox']['grants']; tmpfsBytes: number }): SupervisedRun {
  const l = policy.limits;
  return {
    tools: tools.sandbox,
    command,
    inputFd: input.fd,
    inputName: input.name,
    ...(tools.seccompFile ? { seccompFile: tools.seccompFile } : {}),
    tmpfsBytes: opts.tmpfsBytes,
    grants: opts.grants,
    rlimits: { addressSpaceBytes: mib(l.addressSpaceMiB), cpuSeconds: l.cpuSeconds, fileSizeBytes: opts.fileSizeBytes, openFiles: l.openFiles },
    wallMs: l.wallSeconds * 1000,
    monitor: {
      sampleMs: policy.monitor.sampleMs,
      maxThreads: l.maxThreads,
      addressSpaceBytes: mib(l.addressSpaceMiB),
      onMemorySpike: policy.monitor.onMemorySpike,
      onEscapeAttempt: policy.monitor.onEscapeAttempt,
    },
  };
}

/** Decode every stream to null (the deep check): no output, no grants, a small tmpfs. */
export function planDeepCheck(policy: Policy, tools: PlanTools, input: SandboxInput, pins: InputPins): SupervisedRun {
  return jobSandbox(policy, tools, input, buildDeepCheckArgv(pins), { fileSizeBytes: mib(1), grants: { fonts: false, gpu: false }, tmpfsBytes: mib(16) });
}

export interface TranscodeRequest {
  readonly operation: string;
  readonly target: OperationTarget;
  readonly extension: string;
  /** The template's arguments, or the firewall-approved raw arguments (without -f). */
  readonly outputArgs: readonly string[];
  /** The muxer raw arguments chose; the target's otherwise. */
  readonly rawMuxer: string | undefined;
  readonly raw: boolean;
  /** Show ffmpeg's periodic stats (the progress bar). */
  readonly stats: boolean;
}

export interface TranscodePlan {
  readonly ffmpegArgv: string[];
  /** Everything supervise needs but the job directory, which is made just before the run. */
  readonly run: SupervisedRun;
  /** File name of the output inside the job directory. */
  readonly outputName: string;
  /** Media seconds the job processes (capped by the policy), when the baseline applies. */
  readonly mediaSeconds: number | undefined;
  /** What the decision record says about the sandbox. */
  readonly sandbox: Readonly<Record<string, unknown>>;
}

/**
 * The media seconds a vetted, time-based operation processes: what the learned baseline is keyed
 * on. Raw arguments vary too much, and a still image has no duration.
 */
export function baselineMediaSeconds(policy: Policy, probe: ProbeResult, req: { raw: boolean; still: boolean }): number | undefined {
  if (req.raw || req.still || probe.duration === undefined) return undefined;
  return Math.min(probe.duration, policy.input.maxDurationSeconds);
}

export function planTranscode(
  policy: Policy,
  tools: PlanTools & { readonly seccompProfile: string; readonly seccompHash: string | undefined },
  input: SandboxInput,
  pins: InputPins,
  req: TranscodeRequest,
  baseline: Baseline | undefined,
  mediaSeconds: number | undefined,
): TranscodePlan {
  const outputName = `output.${req.extension}`;
  const ffmpegArgv = buildFfmpegArgv({
    ...pins,
    outputPath: tools.sandbox.degraded ? outputName : `${SANDBOX_JOB_DIR}/${outputName}`,
    muxer: req.rawMuxer ?? req.target.format,
    outputArgs: req.outputArgs,
    stats: req.stats,
  });
  const base = jobSandbox(policy, tools, input, ffmpegArgv, { fileSizeBytes: mib(policy.limits.outputMaxMiB), grants: policy.sandbox.grants, tmpfsBytes: mib(policy.sandbox.tmpfsMiB) });
  const key = mediaSeconds !== undefined ? baselineKeyString({ operation: req.operation, target: req.extension }) : undefined;
  const run: SupervisedRun = {
    ...base,
    monitor: {
      ...base.monitor!,
      ...(baseline && mediaSeconds !== undefined ? { slowJob: { baseline, mediaSeconds, factor: policy.monitor.baselineFactor, action: policy.monitor.onSlowJob } } : {}),
    },
    ...(key !== undefined && mediaSeconds !== undefined ? { media: { seconds: mediaSeconds, baselineKey: key } } : {}),
  };
  const sandbox = {
    profile: tools.sandbox.degraded ? 'degraded' : 'bwrap',
    seccomp: tools.seccompProfile,
    ...(tools.seccompHash ? { seccompSha256: tools.seccompHash } : {}),
    limits: policy.limits,
    grants: policy.sandbox.grants,
    ...(baseline ? { baseline } : {}),
  };
  return { ffmpegArgv, run, outputName, mediaSeconds, sandbox };
}
