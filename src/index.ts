/**
 * zt-ffmpeg as a library: the same jobs the CLI runs, with options instead of flags, returning
 * the same typed results that `--json` prints (schema/output.schema.json). Each function takes
 * an AbortSignal (`signal`). Expected failures of a job are values in its result; a ZtError is
 * thrown only when nothing could start, and `errorResult(command, e)` is its `--json` form.
 *
 *   import { runJob } from 'zt-ffmpeg';
 *   const r = await runJob({ input: upload, output: 'clip.mp4', signal: req.signal });
 *   if (r.exitCode !== 0) reject(r.verdict, r.violations);
 */
export { runJob, checkInputs, runBatch } from './api/jobs.js';
export type { RunJobOptions, CheckInputsOptions, RunBatchOptions, BatchOutcome } from './api/jobs.js';
export { verifyAuditLog } from './api/audit.js';
export type { VerifyAuditLogOptions } from './api/audit.js';
export { loadPolicy } from './api/policy.js';
export type { LoadPolicyOptions } from './api/policy.js';
export type { CommonOptions, TokenOptions } from './api/options.js';
export { errorResult, JSON_SCHEMA_VERSION } from './api/results.js';
export type { RunResult, CheckResult, AuditVerifyResult, PolicyResult, ErrorResult, BatchJobLine, BatchSummaryLine } from './api/results.js';
export { ZtError, isZtError, EXIT, EXIT_CODE_DOCS } from './errors.js';
export type { ExitCode, FailureReason, Violation } from './errors.js';
export type { JobOutcome, Verdict } from './job/outcome.js';
export type { JobEvent, JobListener } from './job/events.js';
export type { Policy, Stage, Mode } from './policy/types.js';
export type { RuleId } from './rule-id.js';
export { VERSION } from './version.js';
