/** The typed shape of a validated policy (see schema.ts for the JSON Schema and field docs). */
import type { IdentityConfig, AuthorizationConfig } from '../identity/types.js';

export type Stage = 'initial' | 'advanced' | 'optimal';
export type Mode = 'enforce' | 'warn' | 'audit';
export const STAGES: readonly Stage[] = ['initial', 'advanced', 'optimal'];

export interface BinaryRule {
  readonly path?: string;
  readonly minVersion?: string;
  readonly sha256?: string;
}

export interface PostureConfig {
  readonly binaries: {
    readonly ffmpeg: BinaryRule;
    readonly ffprobe: BinaryRule;
    readonly bwrap: BinaryRule;
  };
  /** Refuse binaries not owned by root or writable by group/others. */
  readonly requireRootOwned: boolean;
}

export type SeccompProfile = 'default' | 'strict' | 'none';

export interface SandboxConfig {
  /** false permits degraded mode (no bwrap): initial stage only, recorded in the audit log. */
  readonly required: boolean;
  readonly seccomp: SeccompProfile;
  readonly tmpfsMiB: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  /**
   * The host user the sandbox runs as when zt-ffmpeg runs as root (a name, or a uid in
   * decimal; never 0). Default "zt-ffmpeg", which setup.sh creates. As any other user the
   * sandbox runs as the caller.
   */
  readonly user?: string;
}

export interface LimitsConfig {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly addressSpaceMiB: number;
  readonly outputMaxMiB: number;
  readonly openFiles: number;
  readonly maxThreads: number;
  readonly ffmpegThreads: number;
}

/**
 * Cost budgets proportional to the input (src/plan/budget.ts): CPU and wall seconds per second
 * of input media, with a floor for short and still inputs; limits.cpuSeconds and
 * limits.wallSeconds stay the absolute caps above them.
 */
export interface BudgetConfig {
  readonly cpuSecondsPerMediaSecond: number;
  readonly wallSecondsPerMediaSecond: number;
  readonly minCpuSeconds: number;
  readonly minWallSeconds: number;
  /** ffmpeg's diagnostics past this many MiB are a flood: the job is killed. */
  readonly maxStderrMiB: number;
}

/** What an output may be, whatever the arguments: bounded by the input and by these limits. */
export interface OutputConfig {
  /** Output duration at most input duration × the target's durationFactor + this. */
  readonly durationToleranceSeconds: number;
  readonly maxFrameRate: number;
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly maxPixels: number;
  /** Output bytes at most max(minSizeMiB, maxSizeFactor × input bytes), and limits.outputMaxMiB. */
  readonly maxSizeFactor: number;
  readonly minSizeMiB: number;
  /** Keep the input's metadata (global, stream and chapter tags). Raw arguments cannot. */
  readonly keepMetadata: boolean;
}

export interface CodecAllowList {
  readonly video: readonly string[];
  readonly audio: readonly string[];
  readonly subtitle: readonly string[];
}

export interface ProbeConfig {
  readonly probesize: number;
  readonly analyzeDurationUs: number;
  readonly timeoutSeconds: number;
  readonly addressSpaceMiB: number;
}

/** Stream kinds a container can carry, as ffprobe's codec_type names them. */
export const STREAM_KINDS = ['video', 'audio', 'subtitle', 'attachment', 'data'] as const;
export type StreamKindName = (typeof STREAM_KINDS)[number];

/**
 * A stream the job does not map is never demuxed into the output nor decoded. "ignore": it is
 * listed as ignored and only counts towards maxStreams and the metadata limits; "judge": it
 * must pass the same rules as a stream the job uses (codecs, attachments, data streams);
 * "refuse": its mere presence refuses the file. Loosest to strictest.
 */
export const UNUSED_STREAM_ACTIONS = ['ignore', 'judge', 'refuse'] as const;
export type UnusedStreamAction = (typeof UNUSED_STREAM_ACTIONS)[number];
export type UnusedStreamsConfig = UnusedStreamAction | Readonly<Record<StreamKindName, UnusedStreamAction>>;

/** The action for unused streams of one kind; a policy without the field judges them (the strict default). */
export function unusedStreamAction(cfg: UnusedStreamsConfig | undefined, kind: StreamKindName): UnusedStreamAction {
  if (cfg === undefined) return 'judge';
  return typeof cfg === 'string' ? cfg : cfg[kind];
}

export interface InputConfig {
  readonly maxBytes: number;
  /** file-type extensions accepted as magic bytes (e.g. mp4, webm, wav). */
  readonly magic: readonly string[];
  readonly requireMagicMatchesExtension: boolean;
  readonly requireMagicMatchesFormat: boolean;
  /** ffprobe demuxer names accepted (format_name entries). */
  readonly formats: readonly string[];
  readonly codecs: CodecAllowList;
  readonly maxStreams: number;
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly maxPixels: number;
  readonly maxFrameRate: number;
  readonly maxDurationSeconds: number;
  readonly maxBitrate: number;
  readonly maxSampleRate: number;
  readonly maxChannels: number;
  readonly allowAttachments: boolean;
  readonly allowDataStreams: boolean;
  /** What a stream the planned job does not map means; absent = "judge" (see unusedStreamAction). */
  readonly unusedStreams?: UnusedStreamsConfig;
  readonly maxMetadataEntries: number;
  readonly maxMetadataBytes: number;
  readonly deepCheck: boolean;
  /** Options the ffmpeg build must have, beyond the stage's baseline (see plan/hardening/catalog.ts). */
  readonly requiredHardening?: readonly string[];
  readonly probe: ProbeConfig;
}

export interface OperationTarget {
  /** The ffmpeg muxer to force (-f). */
  readonly format: string;
  readonly args: readonly string[];
  /** What the output must contain, checked from its container (src/verify/facts) or by the sandboxed output probe. */
  readonly expect: {
    readonly formats: readonly string[];
    readonly video?: readonly string[];
    readonly audio?: readonly string[];
  };
  /** Single image outputs have no duration to compare. */
  readonly still?: boolean;
  /**
   * How much longer than its input this target's output may legitimately be (slow motion,
   * loops): the output duration budget is input × factor + output.durationToleranceSeconds.
   * Default 1. Raw arguments can never declare one.
   */
  readonly durationFactor?: number;
}

export interface Operation {
  readonly description: string;
  /** Output extension (without dot) → vetted argument template. */
  readonly targets: Readonly<Record<string, OperationTarget>>;
}

export interface FirewallConfig {
  readonly options: readonly string[];
  readonly encoders: readonly string[];
  readonly muxers: readonly string[];
  readonly filters: readonly string[];
}

export interface OperationsConfig {
  readonly default: string;
  readonly allowRawArgs: boolean;
  readonly list: Readonly<Record<string, Operation>>;
}

export type AnomalyAction = 'warn' | 'kill';

export interface MonitorConfig {
  readonly sampleMs: number;
  readonly baselineFactor: number;
  readonly onSlowJob: AnomalyAction;
  readonly onMemorySpike: AnomalyAction;
  readonly onEscapeAttempt: AnomalyAction;
}

export interface AuditConfig {
  /** Refuse to auto-generate a signing key: it must be provisioned (advanced+). */
  readonly requireProvisionedKey: boolean;
  /** Directory of trusted *.pub keys for `audit verify` and policy signatures, relative to the policy. */
  readonly keyring?: string;
  readonly intoto: boolean;
}

export interface PolicySignatureConfig {
  readonly required: boolean;
  readonly keyring?: string;
}

export interface Policy {
  readonly apiVersion: 'zt-ffmpeg/v1';
  readonly stage: Stage;
  readonly mode: Mode;
  readonly description?: string;
  readonly extends?: string;
  readonly allowLoosening?: boolean;
  readonly identity: IdentityConfig;
  readonly authorization: AuthorizationConfig;
  readonly posture: PostureConfig;
  readonly sandbox: SandboxConfig;
  readonly limits: LimitsConfig;
  readonly budget: BudgetConfig;
  readonly input: InputConfig;
  readonly output: OutputConfig;
  readonly operations: OperationsConfig;
  readonly firewall: FirewallConfig;
  readonly monitor: MonitorConfig;
  readonly audit: AuditConfig;
  readonly signature: PolicySignatureConfig;
}

/** A policy as loaded: the typed value plus where it came from. */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly path: string;
  readonly sha256: string;
  readonly bundled: boolean;
  readonly signedBy?: string;
}
