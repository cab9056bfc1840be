/**
 * The library's job functions: the same jobs the CLI runs, with options instead of flags, and
 * the same typed results `--json` prints. Every expected failure of a job is in its result
 * (verdict, exitCode, reason, violations); a ZtError is thrown only when nothing could be
 * started at all (an unreadable policy for `checkInputs`, a bad option), and its
 * `errorResult(command, e)` is what `--json` would print.
 */
import { runJob as runOneJob } from '../job/run-job.js';
import { checkFiles } from '../job/check-inputs.js';
import { runBatch as runManyJobs, defaultConcurrency, type BatchJob, type BatchProgress } from '../job/batch.js';
import type { JobListener } from '../job/events.js';
import { batchJobLine, batchSummaryLine, checkResult, runResult, type BatchJobLine, type BatchSummaryLine, type CheckResult, type RunResult } from './results.js';
import { baseSettingsOf, settingsOf, type CommonOptions, type TokenOptions } from './options.js';

export interface RunJobOptions extends CommonOptions, TokenOptions {
  /** The untrusted input file. */
  readonly input: string;
  /** Where to publish the output; its extension picks the operation's target. */
  readonly output: string;
  /** A vetted operation of the policy (default: the policy's default). */
  readonly operation?: string;
  /** Raw ffmpeg output arguments, checked by the argument firewall (not with `operation`). */
  readonly rawArgs?: readonly string[];
  readonly overwrite?: boolean;
  /** Plan everything, run nothing: the result carries the command lines. */
  readonly dryRun?: boolean;
  /** The job's events as they happen (progress, warnings, stage timings). */
  readonly onEvent?: JobListener;
}

/** One job: inspect, sandboxed transcode, verify, publish, audit. */
export async function runJob(o: RunJobOptions): Promise<RunResult> {
  const outcome = await runOneJob({
    input: o.input,
    output: o.output,
    settings: await settingsOf(o),
    operation: o.operation,
    rawArgs: o.rawArgs && o.rawArgs.length > 0 ? o.rawArgs : undefined,
    overwrite: o.overwrite === true,
    dryRun: o.dryRun === true,
    ...(o.onEvent ? { onEvent: o.onEvent, progress: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return runResult(outcome);
}

export interface CheckInputsOptions extends CommonOptions {
  readonly onEvent?: JobListener;
}

/** Inspection only: a verdict per file, nothing decoded outside the sandbox, nothing published. */
export async function checkInputs(inputs: readonly string[], o: CheckInputsOptions = {}): Promise<CheckResult> {
  const r = await checkFiles({ inputs, settings: baseSettingsOf(o), ...(o.onEvent ? { onEvent: o.onEvent } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  if (r.error) throw r.error;
  return checkResult(r.exitCode, r.files);
}

export interface RunBatchOptions extends CommonOptions, TokenOptions {
  readonly inputs: readonly string[];
  readonly outDir: string;
  readonly operation?: string;
  /** Output extension (default: the operation's first target). */
  readonly ext?: string;
  /** Jobs at once (default: the number of cores). */
  readonly concurrency?: number;
  readonly failFast?: boolean;
  readonly overwrite?: boolean;
  /** Skip an input whose output already exists (a retry finishes the rest). */
  readonly skipExisting?: boolean;
  readonly shard?: { readonly index: number; readonly count: number };
  /** Each job's line as it finishes. */
  readonly onJobDone?: (job: BatchJobLine, progress: BatchProgress) => void;
}

export interface BatchOutcome {
  /** One line per job, in input order: what `batch --json` prints for each. */
  readonly jobs: readonly BatchJobLine[];
  /** What `batch --json` prints last; its exitCode is the most severe of the jobs'. */
  readonly summary: BatchSummaryLine;
}

/** One sandboxed job per input on a bounded pool. */
export async function runBatch(o: RunBatchOptions): Promise<BatchOutcome> {
  const r = await runManyJobs({
    inputs: o.inputs,
    outDir: o.outDir,
    settings: await settingsOf(o),
    operation: o.operation,
    ext: o.ext,
    concurrency: o.concurrency ?? defaultConcurrency(),
    failFast: o.failFast === true,
    overwrite: o.overwrite === true,
    skipExisting: o.skipExisting === true,
    ...(o.shard ? { shard: o.shard } : {}),
    ...(o.onJobDone ? { onJobDone: (job: BatchJob, p: BatchProgress) => o.onJobDone?.(batchJobLine(job), p) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { jobs: r.jobs.map(batchJobLine), summary: batchSummaryLine(r) };
}
