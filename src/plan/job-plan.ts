/**
 * The job plan: policy + probe + detected capabilities → every command line and sandbox spec
 * of the job: the probe of the input, the deep check, the transcode and the probe of the
 * output. Pure: no I/O, no clock. The input pins (demuxer, decoders, limits, hardening) are
 * computed once and shared by the deep check and the transcode, so ffmpeg decodes the bytes
 * exactly the way the deep check decoded them.
 *
 * Inspect comes before plan in the pipeline and must not import it: `jobPlanner` is handed to
 * inspect by the job (src/inspect/planner.ts describes what inspect asks of it).
 */
import { buildDeepCheckArgv, buildDurationScanArgv, buildFfmpegArgv, buildProbeArgv } from './ffmpeg-argv.js';
import { hardeningError, missingHardening, requiredHardening } from './hardening/catalog.js';
import { decodersFor } from './hardening/decoders.js';
import { mediaExtensionsFor, planHardening, type HardeningArgs, type HardeningPlan } from './hardening/plan.js';
import type { InspectPlanner, SandboxedInput, SandboxSite } from '../inspect/planner.js';
import { probedCodecs, unusedStreamIndexes, type ProbeResult } from '../inspect/probe-result.js';
import { demuxerNames } from '../media/formats.js';
import type { Capabilities } from '../posture/capabilities/listing.js';
import { unusedStreamAction, type OperationTarget, type Policy } from '../policy/types.js';
import { mib } from '../sandbox/prlimit.js';
import { SANDBOX_INPUT_DIR } from '../sandbox/bwrap.js';
import { CHILD_FD, INHERITED_INPUT_PATH, SANDBOX_OUTPUT_PATH, type SupervisedRun } from '../sandbox/supervise.js';
import { baselineKeyString, type Baseline } from '../monitor/baseline.js';
import { outputBudget, runBudget, type OutputBudget, type RunBudget } from './budget.js';

export type { SandboxedInput, SandboxSite };

/** How ffmpeg may read the input: the same for the deep check and the transcode. */
export interface InputPins {
  readonly ffmpegPath: string;
  readonly inputPath: string;
  /** The demuxer ffprobe identified (first name of its format_name). */
  readonly demuxer: string;
  /** Codecs of the streams the job reads; only their decoders are allowed. */
  readonly codecs: readonly string[];
  /** Streams the job does not read: disabled in ffmpeg (-discard all), so no -map can reach them. */
  readonly discard: readonly number[];
  readonly maxPixels: number;
  readonly maxDurationSeconds: number;
  readonly threads: number;
  readonly probesize: number;
  readonly analyzeDurationUs: number;
  readonly hardening?: HardeningArgs;
}

/**
 * Where the sandboxed command sees its input: under /in by a fixed name, or (degraded: no
 * sandbox) the inherited descriptor, so even then it reads the file that was hashed and needs
 * no access to the path.
 */
export function sandboxInputPath(input: SandboxedInput, degraded: boolean): string {
  return degraded ? INHERITED_INPUT_PATH : `${SANDBOX_INPUT_DIR}/${input.name}`;
}

/** The demuxer a probed file is decoded with: the first name of ffprobe's format_name. */
function pinnedDemuxer(probe: ProbeResult): string {
  return demuxerNames(probe.formatName)[0] ?? 'none';
}

/** `used`: the streams the job reads (undefined: all of them). */
export function inputPins(policy: Policy, site: SandboxSite, input: SandboxedInput, probe: ProbeResult, hardening: HardeningArgs | undefined, used?: ReadonlySet<number>): InputPins {
  return {
    ffmpegPath: site.binary,
    inputPath: sandboxInputPath(input, site.sandbox.degraded),
    demuxer: pinnedDemuxer(probe),
    codecs: probedCodecs(probe, used),
    discard: unusedStreamIndexes(probe, used),
    maxPixels: policy.input.maxPixels,
    maxDurationSeconds: policy.input.maxDurationSeconds,
    threads: policy.limits.ffmpegThreads,
    probesize: policy.input.probe.probesize,
    analyzeDurationUs: policy.input.probe.analyzeDurationUs,
    ...(hardening ? { hardening } : {}),
  };
}

const NO_GRANTS = { fonts: false, gpu: false } as const;

/**
 * A sandboxed parse (ffprobe): a small tmpfs, no grants, its own limits, no monitor. Without a
 * monitor, the task ceiling (RLIMIT_NPROC inside the sandbox) is what bounds its threads and
 * processes.
 */
function parseSandbox(site: SandboxSite, input: SandboxedInput, command: readonly string[], limits: { addressSpaceMiB: number; seconds: number; tasks: number; maxStdoutBytes?: number }): SupervisedRun {
  return {
    tools: site.sandbox,
    command,
    inputFd: input.fd,
    inputName: input.name,
    ...(site.binaryFd !== undefined ? { binaryFd: site.binaryFd } : {}),
    ...(site.loader ? { loader: site.loader } : {}),
    ...(site.seccompProgram ? { seccompProgram: site.seccompProgram } : {}),
    tmpfsBytes: mib(16),
    grants: NO_GRANTS,
    rlimits: { addressSpaceBytes: mib(limits.addressSpaceMiB), cpuSeconds: limits.seconds, fileSizeBytes: mib(1), openFiles: 64, tasks: limits.tasks },
    wallMs: limits.seconds * 1000,
    ...(limits.maxStdoutBytes !== undefined ? { maxOutputBytes: limits.maxStdoutBytes } : {}),
  };
}

/**
 * The sandbox every ffmpeg of the job runs in, under the policy's job limits, the job's budget
 * (per second of the input's media) and the monitor.
 */
function decodeSandbox(policy: Policy, site: SandboxSite, input: SandboxedInput, command: readonly string[], opts: { fileSizeBytes: number; grants: Policy['sandbox']['grants']; tmpfsBytes: number; budget?: RunBudget }): SupervisedRun {
  const l = policy.limits;
  return {
    tools: site.sandbox,
    command,
    inputFd: input.fd,
    inputName: input.name,
    ...(site.binaryFd !== undefined ? { binaryFd: site.binaryFd } : {}),
    ...(site.loader ? { loader: site.loader } : {}),
    ...(site.seccompProgram ? { seccompProgram: site.seccompProgram } : {}),
    tmpfsBytes: opts.tmpfsBytes,
    grants: opts.grants,
    rlimits: { addressSpaceBytes: mib(l.addressSpaceMiB), cpuSeconds: l.cpuSeconds, fileSizeBytes: opts.fileSizeBytes, openFiles: l.openFiles, tasks: l.maxThreads },
    wallMs: l.wallSeconds * 1000,
    ...(opts.budget ? { budget: opts.budget } : {}),
    monitor: {
      sampleMs: policy.monitor.sampleMs,
      maxThreads: l.maxThreads,
      addressSpaceBytes: mib(l.addressSpaceMiB),
      onMemorySpike: policy.monitor.onMemorySpike,
      onEscapeAttempt: policy.monitor.onEscapeAttempt,
    },
  };
}

// --- the input probe and the deep check (what inspect runs) -------------------------------------

/**
 * Text subtitle codecs whose decoders only copy their header at open. ffprobe opens a decoder
 * for every stream and exits when one is not on the whitelist, so a policy that ignores unused
 * subtitle streams lets the probe open these (the job never does: they are not among the
 * decoders of the streams it reads). Bitmap subtitles (DVD, PGS) have real decoders: a file
 * carrying one still needs its codec in the policy's list.
 */
export const TEXT_SUBTITLE_CODECS: readonly string[] = ['subrip', 'ass', 'ssa', 'webvtt', 'mov_text', 'text'];

/** The codecs the probe may open decoders for: the policy's, and text subtitles where unused ones are ignored. */
export function probeCodecs(policy: Policy): string[] {
  const c = policy.input.codecs;
  const text = unusedStreamAction(policy.input.unusedStreams, 'subtitle') === 'ignore' ? TEXT_SUBTITLE_CODECS : [];
  return [...new Set([...c.video, ...c.audio, ...c.subtitle, ...text])];
}

/** The sandboxed ffprobe of the input: any format and codec the policy allows, nothing pinned yet. */
export function planProbe(policy: Policy, caps: Capabilities, site: SandboxSite, input: SandboxedInput): { run: SupervisedRun; hardening: HardeningPlan } {
  const i = policy.input;
  const hardening = planHardening(caps, {
    formats: i.formats,
    decoders: decodersFor(probeCodecs(policy), caps),
    maxStreams: i.maxStreams,
    maxPixels: i.maxPixels,
    maxSampleRate: i.maxSampleRate,
    maxChannels: i.maxChannels,
    addressSpaceMiB: i.probe.addressSpaceMiB,
    mediaExtensions: mediaExtensionsFor(i.formats),
  });
  const argv = buildProbeArgv({ ffprobePath: site.binary, inputPath: sandboxInputPath(input, site.sandbox.degraded), formats: i.formats, probesize: i.probe.probesize, analyzeDurationUs: i.probe.analyzeDurationUs, hardening });
  return { run: parseSandbox(site, input, argv, { addressSpaceMiB: i.probe.addressSpaceMiB, seconds: i.probe.timeoutSeconds, tasks: policy.limits.maxThreads, maxStdoutBytes: 16 * 1024 * 1024 }), hardening };
}

/** The hardening for ffmpeg decoding this probed file: its demuxer pinned, the decoders of the streams the job reads only. */
export function planDecodeHardening(policy: Policy, caps: Capabilities, probe: ProbeResult, used?: ReadonlySet<number>): HardeningPlan {
  const pinned = pinnedDemuxer(probe);
  return planHardening(caps, {
    formats: [pinned],
    pinned,
    decoders: decodersFor(probedCodecs(probe, used), caps),
    maxStreams: policy.input.maxStreams,
    maxPixels: policy.input.maxPixels,
    maxSampleRate: policy.input.maxSampleRate,
    maxChannels: policy.input.maxChannels,
    addressSpaceMiB: policy.limits.addressSpaceMiB,
    mediaExtensions: mediaExtensionsFor(policy.input.formats),
  });
}

/** Decode every stream to null under the job's pins, limits and budget: no output, no grants. */
export function planDeepCheck(policy: Policy, site: SandboxSite, input: SandboxedInput, pins: InputPins, probe: ProbeResult): SupervisedRun {
  return decodeSandbox(policy, site, input, buildDeepCheckArgv(pins), { fileSizeBytes: mib(1), grants: NO_GRANTS, tmpfsBytes: mib(16), budget: runBudget(policy, probe) });
}

/**
 * The demux-only pass that measures an input whose container states no duration: the job's
 * address space, no grants, no output, and the probe's time limit (copying packets to nowhere
 * reads the file at disk speed).
 */
export function planDurationScan(policy: Policy, site: SandboxSite, input: SandboxedInput, pins: InputPins): SupervisedRun {
  const seconds = policy.input.probe.timeoutSeconds;
  return {
    ...decodeSandbox(policy, site, input, buildDurationScanArgv(pins), { fileSizeBytes: mib(1), grants: NO_GRANTS, tmpfsBytes: mib(16) }),
    rlimits: { addressSpaceBytes: mib(policy.limits.addressSpaceMiB), cpuSeconds: seconds, fileSizeBytes: mib(1), openFiles: policy.limits.openFiles, tasks: policy.limits.maxThreads },
    wallMs: seconds * 1000,
    maxOutputBytes: 64 * 1024,
  };
}

/** What inspect is handed: the plans above behind the interface inspect declares. */
export const jobPlanner: InspectPlanner<HardeningPlan> = {
  hardeningRefusal(policy, caps, binary) {
    const missing = missingHardening(caps, requiredHardening(policy), binary);
    return missing.length > 0 ? hardeningError(missing) : undefined;
  },
  probe: planProbe,
  decodeHardening: planDecodeHardening,
  deepCheck(policy, site, input, probe, hardening, used) {
    return planDeepCheck(policy, site, input, inputPins(policy, site, input, probe, hardening, used), probe);
  },
};

// --- the transcode ------------------------------------------------------------------------------

export interface TranscodeRequest {
  readonly operation: string;
  readonly target: OperationTarget;
  readonly extension: string;
  /** The template's arguments, or the firewall-approved raw arguments (without -f). */
  readonly outputArgs: readonly string[];
  /** The muxer raw arguments chose; the target's otherwise. */
  readonly rawMuxer: string | undefined;
  readonly raw: boolean;
}

/** What the budgets are derived from: the probed input and its size. */
export interface BudgetSource {
  readonly probe: ProbeResult;
  readonly inputBytes: number;
}

export interface TranscodePlan {
  readonly ffmpegArgv: string[];
  /** Everything supervise needs but the output file, which is made just before the run. */
  readonly run: SupervisedRun;
  /** File name of the output inside the job directory (and /job in the sandbox). */
  readonly outputName: string;
  /** Media seconds the job processes (capped by the policy), when the baseline applies. */
  readonly mediaSeconds: number | undefined;
  /** What the output may be; the verification holds every job to it. */
  readonly output: OutputBudget;
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

/** The transcode's sandbox: the policy's grants and tmpfs, its output-size limit, the monitor. */
export function transcodeSandbox(policy: Policy, site: SandboxSite, input: SandboxedInput, command: readonly string[], opts: { fileSizeBytes?: number; budget?: RunBudget } = {}): SupervisedRun {
  return decodeSandbox(policy, site, input, command, { fileSizeBytes: opts.fileSizeBytes ?? mib(policy.limits.outputMaxMiB), grants: policy.sandbox.grants, tmpfsBytes: mib(policy.sandbox.tmpfsMiB), ...(opts.budget ? { budget: opts.budget } : {}) });
}

/** Pure: the name of the output file in the job directory, from the target's extension alone. */
export function outputNameFor(extension: string): string {
  return `output.${/^[a-z0-9]{1,16}$/.test(extension) ? extension : 'bin'}`;
}

export function planTranscode(
  policy: Policy,
  site: SandboxSite & { readonly seccompProfile: string; readonly seccompHash: string | undefined },
  input: SandboxedInput,
  pins: InputPins,
  req: TranscodeRequest,
  learned: { readonly baseline: Baseline | undefined; readonly mediaSeconds: number | undefined },
  source: BudgetSource,
): TranscodePlan {
  const outputName = outputNameFor(req.extension);
  const ffmpegArgv = buildFfmpegArgv({
    ...pins,
    // The file the host made, inherited as a descriptor: ffmpeg writes into it (-y), nothing else.
    outputPath: SANDBOX_OUTPUT_PATH,
    muxer: req.rawMuxer ?? req.target.format,
    outputArgs: req.outputArgs,
    progressFd: CHILD_FD.progress,
    keepMetadata: policy.output.keepMetadata,
  });
  // Raw arguments never declare a duration factor; a vetted target may.
  const output = outputBudget(policy, source.probe, source.inputBytes, req.raw ? 1 : req.target.durationFactor ?? 1);
  const budget = runBudget(policy, source.probe);
  const base = transcodeSandbox(policy, site, input, ffmpegArgv, { fileSizeBytes: output.bytes.limit, budget });
  const { baseline, mediaSeconds } = learned;
  const run: SupervisedRun = {
    ...base,
    progress: { output },
    fileSizeRule: output.bytes.rule,
    ...(base.monitor && baseline && mediaSeconds !== undefined
      ? { monitor: { ...base.monitor, slowJob: { baseline, mediaSeconds, factor: policy.monitor.baselineFactor, action: policy.monitor.onSlowJob } } }
      : {}),
    ...(mediaSeconds !== undefined ? { media: { seconds: mediaSeconds, baselineKey: baselineKeyString({ operation: req.operation, target: req.extension }) } } : {}),
  };
  const sandbox = {
    profile: site.sandbox.degraded ? 'degraded' : 'bwrap',
    seccomp: site.seccompProfile,
    ...(site.seccompHash ? { seccompSha256: site.seccompHash } : {}),
    limits: policy.limits,
    budget: budgetRecord(budget, output),
    grants: policy.sandbox.grants,
    ...(baseline ? { baseline } : {}),
  };
  return { ffmpegArgv, run, outputName, mediaSeconds, output, sandbox };
}

/** The budgets as the decision record states them: each limit with its rule and derivation. */
function budgetRecord(b: RunBudget, o: OutputBudget): Record<string, unknown> {
  return {
    mediaSeconds: b.mediaSeconds,
    cpuMs: b.cpuMs,
    wallMs: b.wallMs,
    stderrBytes: b.stderrBytes,
    output: o,
  };
}

// --- the output probe ---------------------------------------------------------------------------

/** Demuxer names that read what a muxer of that name writes. */
function readersOf(muxer: string): string[] {
  switch (muxer) {
    case 'mp4':
      return ['mov'];
    case 'webm':
      return ['matroska'];
    case 'image2':
      return ['png_pipe', 'jpeg_pipe'];
    default:
      return [];
  }
}

/** Without a promised target (raw arguments), the demuxers of every container an operation can write. */
const ANY_OUTPUT_FORMATS = ['mov', 'matroska', 'wav', 'mp3', 'flac', 'ogg', 'image2', 'png_pipe', 'jpeg_pipe'];

/**
 * The output probe's task ceiling. It has no policy at hand (its other limits are fixed too), and
 * ffprobe starts no thread while it probes (libavformat opens decoders single-threaded for
 * that): this is room to spare.
 */
const OUTPUT_PROBE_TASKS = 64;

/**
 * The sandboxed ffprobe of the output. The output was written by a process that parsed hostile
 * bytes, so its probe is hardened like the input's: the build's extra options (when the build's
 * capabilities are known) and only the decoders of the promised codecs.
 */
export function planOutputProbe(site: SandboxSite, output: SandboxedInput, target: OperationTarget | undefined, caps: Capabilities | undefined, timeoutSeconds: number): SupervisedRun {
  const promisedFormats = target ? [...new Set([...target.expect.formats, ...target.expect.formats.flatMap(readersOf)])] : [];
  const formats = promisedFormats.length > 0 ? promisedFormats : ANY_OUTPUT_FORMATS;
  // Remux and raw-argument outputs promise no codecs: then no decoder whitelist, only the limits.
  const promised = [...(target?.expect.video ?? []), ...(target?.expect.audio ?? [])];
  const hardening = caps
    ? planHardening(caps, { formats, decoders: decodersFor(promised, caps), maxStreams: 64, maxPixels: 7680 * 4320, maxSampleRate: 768000, maxChannels: 64, addressSpaceMiB: 1024, mediaExtensions: [] })
    : undefined;
  const argv = buildProbeArgv({
    ffprobePath: site.binary,
    inputPath: INHERITED_INPUT_PATH,
    formats,
    probesize: 5_000_000,
    analyzeDurationUs: 5_000_000,
    ...(hardening ? { hardening } : {}),
  });
  // The output lies in the private job directory, which the sandbox user may not enter: inherited, not bound.
  return { ...parseSandbox(site, output, argv, { addressSpaceMiB: 1024, seconds: timeoutSeconds, tasks: OUTPUT_PROBE_TASKS, maxStdoutBytes: 16 * 1024 * 1024 }), inputInherited: true };
}
