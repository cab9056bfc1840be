/**
 * One job, `zt-ffmpeg run`, as the design brief draws it:
 *
 *   policy → audit → request → posture → identity → inspect → plan → run → verify → publish
 *
 * (the job directory is made while inspect runs: it depends only on the target),
 * with the audit log beside every step: the decision record before ffmpeg starts, the result
 * (or refusal) record when the job ends, both built from the job's one event stream. Each stage
 * returns its result or a typed Failure; the job ends at the first Failure. Nothing is thrown
 * past here except bugs.
 */
import type { AuditWriter } from '../audit/writer.js';
import { startJob, type JobContext } from './context.js';
import type { JobEnd, JobListener } from './events.js';
import { interruptedFailure, verdictOf, type Failure, type Result } from './failure.js';
import { interruptSignalOf } from '../sandbox/supervise.js';
import type { JobOutcome } from './outcome.js';
import type { JobSettings } from './settings.js';
import { policyStage, auditStage } from './stages/policy.js';
import { requestStage, type CheckedRequest, type RequestArgs } from './stages/request.js';
import { postureStage } from './stages/posture.js';
import { identityStage, type Identified } from './stages/identity.js';
import { inspectStage } from './stages/inspect.js';
import { planStage } from './stages/plan.js';
import { dryRunView } from './stages/dry-run.js';
import { jobDirStage, runStage } from './stages/run.js';
import { outputNameFor } from '../plan/job-plan.js';
import { readBaseline, type Baseline } from '../monitor/baseline.js';
import type { LoadedPolicy } from '../policy/types.js';
import type { JobTools } from '../posture/tools.js';
import type { JobDir } from '../publish/job-dir.js';
import { verifyStage } from './stages/verify.js';
import { publishStage } from './stages/publish.js';

export interface RunRequest extends RequestArgs {
  readonly input: string;
  readonly settings: JobSettings;
  readonly dryRun: boolean;
  /** The time tokens are judged at (default: now; a batch fixes it at its start). */
  readonly now?: Date;
  /** Live events for the terminal (progress, warnings); the renderer is one more consumer. */
  readonly onEvent?: JobListener;
  /** Emit `progress` events from ffmpeg's progress report (a TTY progress bar). */
  readonly progress?: boolean;
  /** For batch: an audit writer shared by the jobs of one process. */
  readonly audit?: AuditWriter;
  /**
   * Cancels the job: its sandboxed tree is killed, its job directory removed, nothing is
   * published, and the result record says `interrupted` (the CLI aborts it on SIGINT, SIGTERM
   * and SIGHUP; the abort reason names the signal).
   */
  readonly signal?: AbortSignal;
}

export async function runJob(req: RunRequest): Promise<JobOutcome> {
  const ctx = startJob({
    command: 'run',
    settings: req.settings,
    input: req.input,
    dryRun: req.dryRun,
    ...(req.now ? { now: req.now } : {}),
    ...(req.audit ? { audit: req.audit } : {}),
    ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  let end: JobEnd;
  try {
    end = await runStages(ctx, req);
  } catch (e) {
    await ctx.abandon();
    throw e;
  }
  return ctx.finish(end);
}

function ended(r: { readonly failure: Failure }): JobEnd {
  return { verdict: verdictOf(r.failure.reason), failure: r.failure };
}

/**
 * Between stages: a cancelled job ends here, whatever the stage it was in made of the kill
 * (a probe killed mid-way is not a refusal of the input).
 */
function cancelled(signal: AbortSignal): JobEnd {
  const failure = interruptedFailure(interruptSignalOf(signal.reason));
  return { verdict: verdictOf(failure.reason), failure };
}

async function runStages(ctx: JobContext, req: RunRequest): Promise<JobEnd> {
  const sig = req.signal;
  const loaded = await policyStage(ctx);
  if (!loaded.ok) return ended(loaded);
  const policy = loaded.value.policy;
  const audit = await auditStage(ctx, loaded.value);
  if (!audit.ok) return ended(audit);
  const request = await requestStage(ctx, policy, req, { input: req.input, policyPath: loaded.value.path });
  if (!request.ok) return ended(request);
  const { target, chosen, raw } = request.value;
  // Posture runs the binaries it checks (their versions, on a cache miss): only once the audit
  // log is open, so nothing executes for a job that could not be recorded.
  const tools = await postureStage(ctx, policy, { ffmpeg: true }, sig);
  if (sig?.aborted) return cancelled(sig);
  if (!tools.ok) return ended(tools);
  const identified = await identityStage(ctx, loaded.value, { input: req.input, operation: chosen.name, raw });
  if (!identified.ok) return ended(identified);
  // Neither depends on what the inspection finds, so both run while the probe does: the job
  // directory (a refused job removes it when it ends) and the learned baseline from the log.
  // They start once ffprobe has (their first steps would delay it), and never for an input
  // refused before the probe.
  const early = ctx.dryRun ? undefined : whileProbing(() => {
    const jobDir = jobDirStage(ctx, tools.value, target, outputNameFor(chosen.extension));
    // Handled from the start: it is awaited only after the inspection (or in the finally below).
    jobDir.catch(() => undefined);
    return { jobDir, baseline: readBaseline(ctx.settings.paths.auditLog, { operation: chosen.name, target: chosen.extension }).catch(() => undefined) };
  });
  try {
    return await fromInspection(ctx, req, { loaded: loaded.value, request: request.value, tools: tools.value, identified: identified.value }, early);
  } finally {
    // Every way out, a return or a throw, waits for the job directory: one made after the job's
    // clean-ups ran would stay beside the destination.
    early?.cancel();
    await early?.work.then((w) => w?.jobDir).catch(() => undefined);
  }
}

interface EarlyWork {
  readonly jobDir: Promise<Result<JobDir>>;
  readonly baseline: Promise<Baseline | undefined>;
}

/** Work started by `start()` (once), or never if `cancel()` comes first. */
function whileProbing(make: () => EarlyWork): { start(): void; cancel(): void; work: Promise<EarlyWork | undefined> } {
  let settle!: (go: boolean) => void;
  const gate = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  return {
    start: () => settle(true),
    cancel: () => settle(false),
    work: gate.then((go) => (go ? make() : undefined)),
  };
}

async function fromInspection(
  ctx: JobContext,
  req: RunRequest,
  job: { loaded: LoadedPolicy; request: CheckedRequest; tools: JobTools; identified: Identified },
  early: ReturnType<typeof whileProbing> | undefined,
): Promise<JobEnd> {
  const sig = req.signal;
  const { loaded, request, tools, identified } = job;
  const policy = loaded.policy;
  const { target, chosen } = request;
  const input = await inspectStage(ctx, policy, tools, req.input, identified.boundDigest, request.outputArgs, early?.start);
  if (sig?.aborted) return cancelled(sig);
  if (!input.ok) return ended(input);
  // An input that passed was probed, so the early work has started (cancel() is then a no-op;
  // it only keeps a bug from waiting forever).
  early?.cancel();
  const work = early ? await early.work : undefined;
  if (early && !work) throw new Error('internal error: the input passed inspection without a probe');
  const plan = await planStage(ctx, policy, tools, request, input.value, work?.baseline);
  if (!plan.ok) return ended(plan);
  if (!work) return { verdict: 'ok', dryRun: dryRunView(policy, tools, plan.value, target, input.value.report.input.path) };
  if (sig?.aborted) return cancelled(sig);
  const jobDir = await work.jobDir;
  if (!jobDir.ok) return ended(jobDir);
  const ran = await runStage(ctx, tools, plan.value, jobDir.value, { target, authzRule: identified.authzRule, mediaTotal: input.value.probe.duration, progress: req.progress === true });
  if (!ran.ok) return ended(ran);
  const verified = await verifyStage(ctx, policy, tools, request, input.value, ran.value, plan.value.output);
  if (sig?.aborted) return cancelled(sig);
  if (!verified.ok) return ended(verified);
  // Past this point the job completes: publishing is a few atomic steps.
  const published = await publishStage(ctx, loaded, tools, { target, operation: chosen.name, input: input.value, identified, verified: verified.value, ran: ran.value });
  if (!published.ok) return ended(published);
  return { verdict: 'ok' };
}
