/**
 * The records a job writes to the audit log, typed. The job builds them from its event stream
 * (src/job/records.ts), the `--json` outcome is built from the same facts, and readers of the
 * log (the learned baseline, `audit stats`) narrow untrusted lines back into these types with
 * the guards below instead of reading an open bag by field name.
 *
 *   decision  written before ffmpeg starts (or ffmpeg does not start)
 *   result    after a job that had a decision record
 *   refusal   a job refused before any decision
 *   check     one `zt-ffmpeg check` verdict
 */
import type { FailureReason, Violation } from '../errors.js';
import type { Anomaly, Breach, Peaks } from '../monitor/monitor.js';
import type { BinaryFacts, BinaryName } from '../posture/binaries.js';
import type { CiContext, ClaimValue } from '../identity/types.js';
import type { AuditEvent } from './record.js';

export type RecordedVerdict = 'ok' | 'refused' | 'failed';
export type JobCommand = 'run' | 'check';

/** The policy a job ran under. */
export interface PolicyRef {
  readonly path: string;
  readonly sha256: string;
  readonly stage: string;
  readonly mode: string;
  /** Key id of the trusted key whose signature was verified, when the policy was signed. */
  readonly signedBy?: string;
}

export interface PrincipalRecord {
  readonly user: string;
  readonly uid: number;
  readonly groups: readonly string[];
  readonly ci?: CiContext;
  readonly token?: {
    readonly issuer: string;
    readonly issuerId: string;
    readonly subject: string;
    readonly jti?: string;
    readonly claims: Readonly<Record<string, ClaimValue>>;
    readonly boundTo?: { readonly operation: string; readonly inputSha256: string };
  };
}

export interface InputRecord {
  readonly path: string;
  readonly size?: number;
  readonly sha256?: string;
  readonly magic?: string;
  readonly probe?: Record<string, unknown>;
  /** What the inspection did beyond the verdict: container walk, markers, hardening. */
  readonly structure?: Record<string, unknown>;
  readonly embedded?: readonly unknown[];
  readonly hardening?: Record<string, unknown>;
  /** Seconds of media measured from the packets, when the container states no duration. */
  readonly durationMeasured?: number;
}

export interface RunRecord {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly wallMs: number;
  readonly peaks: Peaks;
  readonly anomalies: readonly Anomaly[];
  readonly breach?: Breach;
  /** Processes of the sandboxed tree still alive after the kill path (always 0). */
  readonly leftBehind?: number;
  /** Media seconds processed and the baseline key, for the learned baseline (src/monitor/baseline.ts). */
  readonly mediaSeconds?: number;
  readonly baselineKey?: string;
  /** Bytes ffmpeg wrote to stderr in all (only a bounded head and tail are ever kept). */
  readonly stderrBytes?: number;
  /** The end of ffmpeg's diagnostics: its words (untrusted data), never a verdict. */
  readonly stderrTail?: string;
}

export interface OutputRecord {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly probe?: Record<string, unknown>;
  /** How the facts in `probe` were established: the container's own tables, or a sandboxed ffprobe and why. */
  readonly checkedBy?: { readonly by: 'container'; readonly reader: string } | { readonly by: 'sandboxed-probe'; readonly because: string };
  readonly provenance?: string;
}

/** Fields every job record carries. */
export interface JobRecordBase extends AuditEvent {
  readonly jobId: string;
  readonly command: JobCommand;
  readonly tool: { readonly name: string; readonly version: string };
  readonly host: string;
  readonly policy?: PolicyRef;
  readonly principal?: PrincipalRecord;
  readonly operation?: string;
  readonly input: InputRecord;
}

export interface DecisionRecord extends JobRecordBase {
  readonly type: 'decision';
  readonly decision: 'allow';
  readonly authorization: { readonly rule: string | undefined };
  readonly ffmpegArgv: readonly string[];
  readonly binaries: Partial<Record<BinaryName, BinaryFacts>>;
  readonly sandbox: Readonly<Record<string, unknown>>;
  readonly output: { readonly path: string };
  readonly warnings: readonly Violation[];
}

/** How a job (or a check) ended: the fields the `--json` outcome shares with the record. */
export interface JobEndFields {
  readonly verdict: RecordedVerdict;
  readonly exitCode: number;
  readonly reason?: FailureReason;
  readonly message?: string;
  readonly hint?: string;
  readonly violations: readonly Violation[];
  readonly warnings: readonly Violation[];
  readonly details?: Readonly<Record<string, unknown>>;
  readonly run?: RunRecord;
  readonly output?: OutputRecord;
  readonly degraded: boolean;
  readonly timings: Readonly<Record<string, number>>;
}

export interface ResultRecord extends JobRecordBase, JobEndFields {
  readonly type: 'result' | 'refusal' | 'check';
  /** The run's anomalies again at the top level (read by `audit stats`). */
  readonly anomalies?: readonly Anomaly[];
}

export type JobRecord = DecisionRecord | ResultRecord;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Narrow an untrusted event read from a log to the parts of a successful result record the
 * learned baseline needs; undefined when it is not one or its run facts are malformed.
 */
export function asSuccessfulRun(event: unknown): { readonly baselineKey: string; readonly mediaSeconds: number; readonly wallMs: number; readonly cpuMs: number } | undefined {
  if (!isObject(event) || event['type'] !== 'result' || event['verdict'] !== 'ok') return undefined;
  const run = event['run'];
  if (!isObject(run)) return undefined;
  const peaks = run['peaks'];
  const baselineKey = run['baselineKey'];
  const mediaSeconds = run['mediaSeconds'];
  const wallMs = run['wallMs'];
  const cpuMs = isObject(peaks) ? peaks['cpuMs'] : undefined;
  if (typeof baselineKey !== 'string' || !isFiniteNumber(mediaSeconds) || !isFiniteNumber(wallMs) || !isFiniteNumber(cpuMs)) return undefined;
  return { baselineKey, mediaSeconds, wallMs, cpuMs };
}
