/**
 * The audit records and the `--json` outcome of a job, both built from the same folded facts
 * (src/job/events.ts). `jobFields` and `endFields` are what they share; a test compares them.
 */
import os from 'node:os';
import { EXIT, type ExitCode } from '../errors.js';
import type { DecisionRecord, JobEndFields, JobRecordBase, ResultRecord } from '../audit/job-records.js';
import { VERSION } from '../version.js';
import { exitCodeOf } from './failure.js';
import type { JobFacts } from './events.js';
import type { JobOutcome } from './outcome.js';

const TOOL = { name: 'zt-ffmpeg', version: VERSION } as const;

/** Who, under which policy, on what: the head of every record and of the outcome. */
export function jobFields(f: Readonly<JobFacts>): Pick<JobRecordBase, 'jobId' | 'command' | 'policy' | 'principal' | 'operation' | 'input'> {
  return {
    jobId: f.jobId,
    command: f.command,
    ...(f.policy ? { policy: f.policy } : {}),
    ...(f.principal ? { principal: f.principal } : {}),
    ...(f.operation !== undefined ? { operation: f.operation } : {}),
    input: f.input,
  };
}

/** How it ended, as recorded (before anything is known about the record's own fate). */
export function endFields(f: Readonly<JobFacts>): JobEndFields {
  const end = f.end;
  if (!end) throw new Error('internal error: a job record was built before the job ended');
  const base = {
    warnings: f.warnings,
    ...(f.run ? { run: f.run } : {}),
    ...(f.output ? { output: f.output } : {}),
    degraded: f.degraded,
    timings: f.timings,
  };
  if (end.verdict === 'ok') return { verdict: 'ok', exitCode: EXIT.ok, violations: [], ...base };
  const x = end.failure;
  return {
    verdict: end.verdict,
    exitCode: exitCodeOf(x),
    reason: x.reason,
    message: x.message,
    ...(x.hint !== undefined ? { hint: x.hint } : {}),
    violations: x.violations,
    ...(x.details ? { details: x.details } : {}),
    ...base,
  };
}

export function decisionRecord(f: Readonly<JobFacts>): DecisionRecord {
  const d = f.decision;
  if (!d) throw new Error('internal error: a decision record without a decision');
  return { type: 'decision', ...jobFields(f), tool: TOOL, host: os.hostname(), decision: 'allow', ...d, warnings: [...f.warnings] };
}

export function resultRecord(f: Readonly<JobFacts>): ResultRecord {
  const type = f.command === 'check' ? 'check' : f.decisionSeq !== undefined ? 'result' : 'refusal';
  const end = endFields(f);
  return { type, ...jobFields(f), tool: TOOL, host: os.hostname(), ...end, ...(end.run ? { anomalies: end.run.anomalies } : {}) };
}

/**
 * The outcome returned to the caller. It differs from the result record in one way only: if
 * that record could not be written, a job that succeeded is reported as an audit failure
 * (exit 8), since its evidence is missing.
 */
export function outcomeOf(f: Readonly<JobFacts>): JobOutcome {
  const end = endFields(f);
  const dryRun = f.end?.verdict === 'ok' ? f.end.dryRun : undefined;
  const failure = f.end?.verdict === 'ok' ? undefined : f.end?.failure;
  const auditLost = f.auditError !== undefined && end.verdict === 'ok';
  const outcome: JobOutcome = {
    ...jobFields(f),
    ...end,
    exitCode: (auditLost ? EXIT.auditFailed : end.exitCode) as ExitCode,
    ...(failure ? { reason: failure.reason } : {}),
    ...(dryRun ? { dryRun } : {}),
    audit: { log: f.auditLog, seqs: [...f.seqs], ...(f.auditError !== undefined ? { error: f.auditError } : {}) },
  };
  if (!auditLost) return outcome;
  return {
    ...outcome,
    verdict: 'failed',
    reason: 'audit-unavailable',
    message: `the job finished, but its result record could not be written: ${f.auditError ?? ''}`,
    hint: f.output
      ? `the output ${f.output.path} was published, but the audit log lacks its result (the job shows as unfinished there); fix the audit log, then re-run`
      : 'fix the audit log (see the message), then re-run',
  };
}
