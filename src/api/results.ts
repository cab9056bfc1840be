/**
 * The typed results of the commands: exactly the objects `--json` prints, and exactly what the
 * library functions return. One builder per result, used by both the CLI and the library, so
 * the two cannot drift apart; schema/output.schema.json describes every one of them.
 */
import { verdictOf } from '../job/failure.js';
import type { ExitCode, FailureReason, Violation, ZtError } from '../errors.js';
import type { JobOutcome, Verdict } from '../job/outcome.js';
import type { LogReport, VerifyReport } from '../audit/verify.js';
import type { LoadedPolicy, Mode, Policy, Stage } from '../policy/types.js';
import type { BatchJob, BatchResult, BatchSummary, BatchVerdict, SkipReason } from '../job/batch.js';

export const JSON_SCHEMA_VERSION = 1 as const;
export type SchemaVersion = typeof JSON_SCHEMA_VERSION;

/** `run --json`: the outcome of one job (also each file of `check`, and each job of `batch`). */
export type RunResult = { readonly schemaVersion: SchemaVersion } & JobOutcome;

/** `check --json`: one outcome per file. */
export interface CheckResult {
  readonly schemaVersion: SchemaVersion;
  readonly command: 'check';
  readonly exitCode: ExitCode;
  readonly verdict: Verdict;
  readonly files: readonly RunResult[];
}

/** `audit verify --json`: one report per log. */
export interface AuditVerifyResult {
  readonly schemaVersion: SchemaVersion;
  readonly command: 'audit verify';
  readonly exitCode: ExitCode;
  readonly ok: boolean;
  /** Key ids of the keys the logs were checked against. */
  readonly trustedKeys: readonly string[];
  readonly logs: readonly LogReport[];
}

/** `policy show --json`: a loaded, validated policy (its `extends` merged), and where it came from. */
export interface PolicyResult {
  readonly schemaVersion: SchemaVersion;
  readonly command: 'policy show';
  readonly exitCode: ExitCode;
  readonly path: string;
  readonly sha256: string;
  readonly stage: Stage;
  readonly mode: Mode;
  readonly bundled: boolean;
  /** Key id of the trusted key whose signature was checked, when one was. */
  readonly signedBy?: string;
  readonly policy: Policy;
}

/** What any command prints with `--json` when it could not do its work at all. */
export interface ErrorResult {
  readonly schemaVersion: SchemaVersion;
  readonly command: string;
  readonly verdict: Exclude<Verdict, 'ok'>;
  readonly exitCode: ExitCode;
  readonly reason: FailureReason;
  readonly message: string;
  readonly hint?: string;
  readonly violations: readonly Violation[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export function runResult(o: JobOutcome): RunResult {
  return { schemaVersion: JSON_SCHEMA_VERSION, ...o };
}

export function checkResult(exitCode: ExitCode, files: readonly JobOutcome[]): CheckResult {
  const verdict: Verdict = files.every((f) => f.verdict === 'ok') ? 'ok' : files.some((f) => f.verdict === 'failed') ? 'failed' : 'refused';
  return { schemaVersion: JSON_SCHEMA_VERSION, command: 'check', exitCode, verdict, files: files.map(runResult) };
}

export function auditVerifyResult(report: VerifyReport, trustedKeyIds: readonly string[], exitCode: ExitCode): AuditVerifyResult {
  return { schemaVersion: JSON_SCHEMA_VERSION, command: 'audit verify', exitCode, ok: report.ok, trustedKeys: [...trustedKeyIds], logs: report.logs };
}

export function policyResult(l: LoadedPolicy): PolicyResult {
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    command: 'policy show',
    exitCode: 0,
    path: l.path,
    sha256: l.sha256,
    stage: l.policy.stage,
    mode: l.policy.mode,
    bundled: l.bundled,
    ...(l.signedBy ? { signedBy: l.signedBy } : {}),
    policy: l.policy,
  };
}

export function errorResult(command: string, e: ZtError): ErrorResult {
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    command,
    verdict: verdictOf(e.reason),
    exitCode: e.exitCode,
    reason: e.reason,
    message: e.message,
    ...(e.hint ? { hint: e.hint } : {}),
    violations: e.violations,
    ...(Object.keys(e.details).length > 0 ? { details: e.details } : {}),
  };
}

/** One line of `batch --json` per job, as it finishes. */
export interface BatchJobLine {
  readonly schemaVersion: SchemaVersion;
  readonly command: 'batch';
  readonly type: 'job';
  readonly index: number;
  readonly input: string;
  readonly output: string;
  readonly verdict: BatchVerdict;
  readonly exitCode: ExitCode;
  readonly skipped?: SkipReason;
  readonly reason?: FailureReason;
  /** The rule ids of its violations, once each. */
  readonly rules: readonly string[];
  /** The job's full outcome (absent for a job that did not run). */
  readonly result?: RunResult;
}

/** The last line of `batch --json`: the summary's counts, and where the batch wrote. */
export interface BatchSummaryLine extends BatchSummary {
  readonly schemaVersion: SchemaVersion;
  readonly command: 'batch';
  readonly type: 'summary';
  readonly operation: string;
  readonly ext: string;
  readonly outDir: string;
  readonly audit: { readonly log: string };
}

export function batchJobLine(job: BatchJob): BatchJobLine {
  const o = job.outcome;
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    command: 'batch',
    type: 'job',
    index: job.index,
    input: job.input,
    output: job.output,
    verdict: job.verdict,
    exitCode: job.exitCode,
    ...(job.skipped ? { skipped: job.skipped } : {}),
    ...(o?.reason ? { reason: o.reason } : {}),
    rules: [...new Set((o?.violations ?? []).map((v) => v.rule))],
    ...(o ? { result: runResult(o) } : {}),
  };
}

export function batchSummaryLine(r: BatchResult): BatchSummaryLine {
  const { total, ok, refused, failed, skipped, byRule, exitCode, verdict } = r.summary;
  return { schemaVersion: JSON_SCHEMA_VERSION, command: 'batch', type: 'summary', verdict, exitCode, total, ok, refused, failed, skipped, byRule, operation: r.operation, ext: r.ext, outDir: r.outDir, audit: { log: r.auditLog } };
}
