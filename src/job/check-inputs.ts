/**
 * `zt-ffmpeg check`: the inspection alone, one verdict per file, nothing processed. The policy,
 * the audit log and the tools are set up once; each file is a job of its own (its own id,
 * events and `check` record) built from the same stages and record shapes as `run`.
 */
import { isZtError, mostSevere, ZtError, type ExitCode } from '../errors.js';
import { openAuditSession } from '../audit/session.js';
import type { AuditWriter } from '../audit/writer.js';
import type { PolicyRef } from '../audit/job-records.js';
import { loadJobPolicy } from '../policy/load-trusted.js';
import type { LoadedPolicy } from '../policy/types.js';
import { prepareTools, type JobTools } from '../posture/tools.js';
import { osPrincipal, ciContext } from '../identity/principal.js';
import { jobPlanner } from '../plan/job-plan.js';
import { findOperation } from '../plan/operation.js';
import { inspectInput, deepCheck } from '../inspect/inspect-input.js';
import { startJob } from './context.js';
import type { JobEnd, JobListener } from './events.js';
import { exitCodeOf, failureFrom, interruptedFailure, verdictOf } from './failure.js';
import { interruptSignalOf } from '../sandbox/supervise.js';
import type { JobOutcome } from './outcome.js';
import type { JobSettings } from './settings.js';
import { principalRecord } from './stages/identity.js';
import { inputRecord } from './stages/inspect.js';
import { refuseOrWarn } from './stages/enforce.js';
import { refuseStdio } from './stages/request.js';

export interface CheckRequest {
  readonly inputs: readonly string[];
  /**
   * The operation the files are judged for (the streams its targets map are the ones judged as
   * read); undefined: the policy's default operation; null: every stream counts as read.
   */
  readonly operation?: string | null;
  readonly settings: JobSettings;
  readonly onEvent?: JobListener;
  /** Cancels the check: the running probe is killed, its file recorded `interrupted`, no further file checked. */
  readonly signal?: AbortSignal;
}

export interface CheckResult {
  readonly exitCode: ExitCode;
  readonly files: JobOutcome[];
  /** Set when nothing could be checked (policy, audit or sandbox unavailable). */
  readonly error?: ZtError;
}

interface CheckSetup {
  readonly loaded: LoadedPolicy;
  /** The output arguments the files are judged for (undefined: every stream counts as read). */
  readonly outputArgs: Array<readonly string[]> | undefined;
  readonly audit: AuditWriter;
  readonly tools: JobTools;
}

async function setUp(settings: JobSettings, operation: string | null | undefined, signal: AbortSignal | undefined): Promise<CheckSetup> {
  const { ref, keyring } = settings.policy;
  const loaded = await loadJobPolicy(ref, keyring ? { keyring } : {});
  const outputArgs = operation === null ? undefined : operationArgs(loaded.policy, operation);
  const audit = await openAuditSession(settings.paths, loaded.policy);
  try {
    const tools = await prepareTools(loaded.policy, settings.paths, { ffmpeg: loaded.policy.input.deepCheck }, signal);
    return { loaded, outputArgs, audit, tools };
  } catch (e) {
    await audit.close().catch(() => undefined);
    throw e;
  }
}

export async function checkFiles(req: CheckRequest): Promise<CheckResult> {
  let setup: CheckSetup;
  try {
    setup = await setUp(req.settings, req.operation, req.signal);
  } catch (e) {
    if (!isZtError(e)) throw e;
    return { exitCode: e.exitCode, files: [], error: e };
  }
  const files: JobOutcome[] = [];
  try {
    for (const input of req.inputs) {
      if (req.signal?.aborted) break;
      files.push(await checkOne(req, setup, input));
    }
  } finally {
    await setup.audit.close().catch(() => undefined);
    await setup.tools.cleanup().catch(() => undefined);
  }
  const stopped = req.signal?.aborted ? [exitCodeOf(interruptedFailure(interruptSignalOf(req.signal.reason)))] : [];
  return { exitCode: mostSevere([...files.map((f) => f.exitCode), ...stopped]), files };
}

/** The output arguments of every target of the operation (check does not know the output's extension). */
function operationArgs(policy: LoadedPolicy['policy'], name: string | undefined): Array<readonly string[]> {
  const { operation } = findOperation(policy, name);
  return Object.values(operation.targets).map((t) => t.args);
}

function policyRef(l: LoadedPolicy): PolicyRef {
  return { path: l.path, sha256: l.sha256, stage: l.policy.stage, mode: l.policy.mode, ...(l.signedBy ? { signedBy: l.signedBy } : {}) };
}

async function checkOne(req: CheckRequest, setup: CheckSetup, input: string): Promise<JobOutcome> {
  const { loaded, tools } = setup;
  const policy = loaded.policy;
  const ctx = startJob({ command: 'check', settings: req.settings, input, audit: setup.audit, ...(req.onEvent ? { onEvent: req.onEvent } : {}), ...(req.signal ? { signal: req.signal } : {}) });
  await ctx.events.emit({ type: 'policy', policy: policyRef(loaded) });
  const ci = ciContext(req.settings.env);
  await ctx.events.emit({ type: 'principal', principal: principalRecord({ os: osPrincipal(), ...(ci ? { ci } : {}) }) });
  await ctx.events.emit({ type: 'posture', degraded: tools.sandbox.degraded });
  const end = await ctx.stage('inspect', async (): Promise<JobEnd> => {
    refuseStdio(input);
    const report = await inspectInput(input, policy, tools, jobPlanner, { digestNow: true, ...(setup.outputArgs ? { outputArgs: setup.outputArgs } : {}) });
    try {
      let violations = report.violations;
      if (violations.length === 0 && policy.input.deepCheck) violations = await deepCheck(report, policy, tools, jobPlanner);
      await ctx.events.emit({ type: 'input', input: inputRecord(report) });
      for (const w of report.warnings) await ctx.warn(w);
      if (violations.length === 0) return { verdict: 'ok' };
      const f = failureFrom(new ZtError('input-refused', `input refused by policy: ${violations.map((v) => v.message).join('; ')}`, { hint: violations[0]?.hint, violations }));
      const refused = await refuseOrWarn(ctx, policy, f);
      return refused ? { verdict: 'refused', failure: refused } : { verdict: 'ok' };
    } finally {
      await report.input.close();
    }
  });
  // A probe killed by the cancellation is no verdict on the file.
  if (req.signal?.aborted) {
    const f = interruptedFailure(interruptSignalOf(req.signal.reason));
    return ctx.finish({ verdict: verdictOf(f.reason), failure: f });
  }
  if (end.ok) return ctx.finish(end.value);
  // A file refused before it could be inspected (a link, a FIFO, too large) is a refusal like any other: subject to the mode.
  const refused = end.failure.reason === 'input-refused' ? await refuseOrWarn(ctx, policy, end.failure) : end.failure;
  return ctx.finish(refused ? { verdict: verdictOf(refused.reason), failure: refused } : { verdict: 'ok' });
}

