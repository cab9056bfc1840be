/**
 * `zt-ffmpeg batch`: one sandboxed job per input, each with its own decision and result
 * records, on a bounded pool of workers. It schedules nothing beyond this process: each job is
 * `runJob`, and the only state the jobs share is the audit log (one writer, appends queued).
 *
 * Pure parts (input lists, output names, shards, the summary) are exported for tests.
 */
import { lstat, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EXIT, ZtError, isZtError, type ExitCode } from '../errors.js';
import { runJob } from './run-job.js';
import { mostSevere } from '../errors.js';
import { loadJobPolicy } from '../policy/load-trusted.js';
import { openAuditSession, type AuditWriter } from '../audit/session.js';
import type { JobOutcome, Verdict } from './outcome.js';
import type { JobSettings } from './settings.js';
import type { Policy } from '../policy/types.js';
import { findOperation, targetFor } from '../plan/operation.js';
import { exitCodeOf, interruptedFailure } from './failure.js';
import { interruptSignalOf } from '../sandbox/supervise.js';

export interface BatchRequest {
  readonly inputs: readonly string[];
  readonly outDir: string;
  /** Policy, trust root, audit paths, token and environment, resolved once for every job. */
  readonly settings: JobSettings;
  readonly operation: string | undefined;
  /** Output extension; default: the operation's first target. */
  readonly ext: string | undefined;
  readonly concurrency: number;
  /**
   * Process only the inputs whose position modulo count is index. Output names are planned over
   * the whole list first, so the workers of one sharded batch never pick the same name.
   */
  readonly shard?: { readonly index: number; readonly count: number };
  readonly failFast: boolean;
  readonly overwrite: boolean;
  /**
   * Skip an input whose output already exists as a regular file, so that the retry of a batch
   * (an indexed Job's next pod) finishes the rest instead of refusing every finished file.
   * Sound because outputs are published atomically: one that exists is complete.
   */
  readonly skipExisting?: boolean;
  /** Cancels the batch: running jobs end `interrupted`, no new one starts. */
  readonly signal?: AbortSignal;
  readonly onJobStart?: (job: PlannedJob) => void;
  readonly onJobDone?: (job: BatchJob, progress: BatchProgress) => void;
}

export interface PlannedJob {
  readonly index: number;
  readonly input: string;
  readonly output: string;
}

export type BatchVerdict = Verdict | 'skipped';

/** Why a job did not run: --fail-fast stopped the batch, or --skip-existing found its output. */
/** Why a job did not run: --fail-fast after an earlier failure, --skip-existing, or the batch was cancelled. */
export type SkipReason = 'fail-fast' | 'exists' | 'interrupted';

export interface BatchJob extends PlannedJob {
  readonly verdict: BatchVerdict;
  readonly exitCode: ExitCode;
  readonly skipped?: SkipReason;
  /** The job's full outcome (absent for a job skipped by --fail-fast). */
  readonly outcome?: JobOutcome;
}

export interface BatchProgress {
  readonly done: number;
  readonly total: number;
  readonly running: number;
}

export interface BatchSummary {
  readonly total: number;
  readonly ok: number;
  readonly refused: number;
  readonly failed: number;
  readonly skipped: number;
  /** Refused and failed jobs counted by rule (the violation's rule id, or the failure reason). */
  readonly byRule: Readonly<Record<string, number>>;
  readonly exitCode: ExitCode;
  readonly verdict: Verdict;
}

export interface BatchResult {
  readonly jobs: readonly BatchJob[];
  readonly summary: BatchSummary;
  readonly operation: string;
  readonly ext: string;
  readonly outDir: string;
  readonly auditLog: string;
}

/** Parse a list of paths: one per line, or NUL-separated (`find -print0`). Empty entries are dropped. */
export function parseInputList(text: string, nul: boolean): string[] {
  const parts = nul ? text.split('\0') : text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return parts.filter((p) => p !== '');
}

/** `--shard I/N`: keep the inputs whose position modulo N is I (for indexed Jobs and CI matrices). */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 0) || index >= count) {
    throw new ZtError('usage', `--shard expects INDEX/COUNT with 0 <= INDEX < COUNT, found "${spec}"`, { hint: 'e.g. --shard 0/4 for the first of four workers (an indexed Job passes $(JOB_COMPLETION_INDEX))' });
  }
  return { index, count };
}

export function shardInputs(inputs: readonly string[], shard: { index: number; count: number } | undefined): string[] {
  if (!shard) return [...inputs];
  return inputs.filter((_, i) => i % shard.count === shard.index);
}

/**
 * A safe output stem from an input path: its basename without the extension, with anything
 * but letters, digits, `.`, `_`, `-` and `+` replaced by `_`, and no leading dots (so never
 * `..`, a hidden file or a path separator).
 */
export function outputStem(input: string): string {
  const base = input.split(/[\\/]/).pop() ?? '';
  const ext = path.extname(base);
  const stem = (ext && ext !== base ? base.slice(0, -ext.length) : base)
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._+-]/gu, '_')
    .replace(/^\.+/, '')
    .slice(0, 200);
  return stem === '' ? 'output' : stem;
}

/**
 * Output paths for inputs: `<outDir>/<stem>.<ext>`, with `-1`, `-2`, ... appended when two
 * inputs share a stem (in input order, so a re-run names the same inputs the same way).
 */
export function planOutputs(inputs: readonly string[], outDir: string, ext: string): PlannedJob[] {
  const used = new Set<string>();
  return inputs.map((input, index) => {
    const stem = outputStem(input);
    let name = `${stem}.${ext}`;
    for (let n = 1; used.has(name.toLowerCase()); n++) name = `${stem}-${n}.${ext}`;
    used.add(name.toLowerCase());
    return { index, input, output: path.join(outDir, name) };
  });
}

/** The output extension: asked for, or the operation's first target. */
export function chooseExtension(policy: Policy, operation: string | undefined, ext: string | undefined): { operation: string; ext: string } {
  const { name, operation: op } = findOperation(policy, operation);
  const chosen = (ext ?? Object.keys(op.targets)[0] ?? '').replace(/^\./, '').toLowerCase();
  targetFor(name, op, chosen, (targets) => `pass --ext with one of: ${targets.join(', ')}`);
  return { operation: name, ext: chosen };
}

export function summarize(jobs: readonly BatchJob[]): BatchSummary {
  const byRule: Record<string, number> = {};
  let ok = 0;
  let refused = 0;
  let failed = 0;
  let skipped = 0;
  for (const j of jobs) {
    if (j.verdict === 'ok') ok++;
    else if (j.verdict === 'refused') refused++;
    else if (j.verdict === 'failed') failed++;
    else skipped++;
    if (j.verdict === 'refused' || j.verdict === 'failed') {
      const rules = new Set<string>((j.outcome?.violations ?? []).map((v) => v.rule));
      if (rules.size === 0) rules.add(j.outcome?.reason ?? 'unknown');
      for (const r of rules) byRule[r] = (byRule[r] ?? 0) + 1;
    }
  }
  const exitCode = mostSevere(jobs.filter((j) => j.verdict !== 'skipped').map((j) => j.exitCode));
  const verdict: Verdict = failed > 0 ? 'failed' : refused > 0 ? 'refused' : exitCode === EXIT.ok ? 'ok' : 'failed';
  return { total: jobs.length, ok, refused, failed, skipped, byRule, exitCode, verdict };
}

/** Run every job on a pool of `concurrency` workers; with failFast, start no job after the first that did not succeed. */
export async function runPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>, failed: (r: R) => boolean, failFast: boolean): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array<R | undefined>(items.length).fill(undefined);
  let next = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop && next < items.length) {
      const i = next++;
      const r = await work(items[i]!);
      results[i] = r;
      if (failFast && failed(r)) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, () => worker()));
  return results;
}

export function defaultConcurrency(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

export async function runBatch(req: BatchRequest): Promise<BatchResult> {
  if (req.inputs.length === 0) {
    throw new ZtError('usage', 'batch needs at least one input', { hint: 'name input files, or pass --from FILE (or --from - to read paths from stdin; -0 for NUL-separated)' });
  }
  const { paths } = req.settings;
  // The policy once up front (signature checked like every job's), to name the outputs; every
  // job loads and checks it again itself.
  const { ref, keyring } = req.settings.policy;
  const loaded = await loadJobPolicy(ref, keyring ? { keyring } : {});
  const { operation, ext } = chooseExtension(loaded.policy, req.operation, req.ext);
  const outDir = path.resolve(req.outDir);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw new ZtError('usage', `cannot create the output directory ${outDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { hint: 'pass --out-dir a directory you can write' });
  }
  const planned = planOutputs(req.inputs, outDir, ext).filter((j) => !req.shard || j.index % req.shard.count === req.shard.index);
  // One audit writer for every job of this process (appends are queued, the chain stays linear).
  const audit: AuditWriter = await openAuditSession(paths, loaded.policy);
  // A token authorizes the batch as of its start: later jobs are not refused because a
  // short-lived CI token expired while earlier jobs ran.
  const startedAt = new Date();
  let done = 0;
  let running = 0;
  try {
    const results = await runPool(
      planned,
      req.concurrency,
      async (job): Promise<BatchJob | undefined> => {
        if (req.signal?.aborted) return undefined; // never started: skipped
        if (req.skipExisting === true && (await isRegularFile(job.output))) {
          const r: BatchJob = { ...job, verdict: 'skipped', exitCode: EXIT.ok, skipped: 'exists' };
          req.onJobDone?.(r, { done: ++done, total: planned.length, running });
          return r;
        }
        running++;
        req.onJobStart?.(job);
        let outcome: JobOutcome;
        try {
          outcome = await runJob({
            input: job.input,
            output: job.output,
            settings: req.settings,
            operation,
            rawArgs: undefined,
            overwrite: req.overwrite,
            dryRun: false,
            audit,
            now: startedAt,
            ...(req.signal ? { signal: req.signal } : {}),
          });
        } catch (e) {
          // runJob returns every expected failure as a value; a throw is a bug in one job, which
          // must not take the other jobs down. Report it as that job's internal error.
          running--;
          const exitCode: ExitCode = isZtError(e) ? e.exitCode : EXIT.internal;
          const message = isZtError(e) ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
          const r: BatchJob = { ...job, verdict: 'failed', exitCode, outcome: internalOutcome(job, message, paths.auditLog, exitCode) };
          req.onJobDone?.(r, { done: ++done, total: planned.length, running });
          return r;
        }
        running--;
        const r: BatchJob = { ...job, verdict: outcome.verdict, exitCode: outcome.exitCode, outcome };
        req.onJobDone?.(r, { done: ++done, total: planned.length, running });
        return r;
      },
      (r) => r !== undefined && r.exitCode !== EXIT.ok,
      req.failFast,
    );
    const jobs: BatchJob[] = results.map((r, i) => r ?? { ...planned[i]!, verdict: 'skipped', exitCode: EXIT.ok, skipped: req.signal?.aborted ? 'interrupted' : 'fail-fast' });
    const summary = summarize(jobs);
    // A cancelled batch says so, even when no job was running at that moment.
    const stopped = req.signal?.aborted ? exitCodeOf(interruptedFailure(interruptSignalOf(req.signal.reason))) : EXIT.ok;
    return { jobs, summary: { ...summary, exitCode: mostSevere([summary.exitCode, stopped]) }, operation, ext, outDir, auditLog: paths.auditLog };
  } finally {
    await audit.close().catch(() => undefined);
  }
}

/** lstat, not stat: a link planted at the output path is not a finished output (the job then refuses it). */
async function isRegularFile(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isFile();
  } catch {
    return false;
  }
}

function internalOutcome(job: PlannedJob, message: string, log: string, exitCode: ExitCode): JobOutcome {
  return {
    command: 'run',
    verdict: 'failed',
    exitCode,
    reason: 'internal',
    message,
    hint: 'this is a bug; please report it with the version',
    jobId: '',
    violations: [],
    warnings: [],
    input: { path: path.resolve(job.input) },
    degraded: false,
    timings: {},
    audit: { log, seqs: [] },
  };
}
