/**
 * Stage 7, run: a private job directory beside the destination (held by a kernel lock while the
 * job lives; what killed jobs left is swept first), with the one output file the sandbox may
 * write; the decision record (written before ffmpeg starts, or ffmpeg does not start: the
 * sandbox is built meanwhile and held at its start gate), then ffmpeg in the sandbox under the
 * limits and the monitor (src/sandbox/supervise.ts), as the sandbox user. How the run ended is classified here, once.
 */
import type { OutputTarget } from '../../publish/destination.js';
import { createJobDir, removeJobDir, sweepStaleJobDirs, type JobDir } from '../../publish/job-dir.js';
import { supervise, type SupervisedOutcome } from '../../sandbox/supervise.js';
import { shutGate } from '../../sandbox/start-gate.js';
import type { ProgressSnapshot } from '../../monitor/progress.js';
import type { RunRecord } from '../../audit/job-records.js';
import type { TranscodePlan } from '../../plan/job-plan.js';
import type { JobTools } from '../../posture/tools.js';
import type { JobContext } from '../context.js';
import { breachFailure, fail, interruptedFailure, ok, type Failure, type Result } from '../failure.js';

export interface Ran {
  readonly jobDir: JobDir;
  readonly outcome: SupervisedOutcome;
}

export function runRecord(r: SupervisedOutcome): RunRecord {
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    wallMs: Math.round(r.wallMs),
    peaks: r.peaks,
    anomalies: r.anomalies,
    ...(r.killedFor ? { breach: r.killedFor } : {}),
    leftBehind: r.leftBehind,
    ...(r.mediaSeconds !== undefined ? { mediaSeconds: r.mediaSeconds } : {}),
    ...(r.baselineKey !== undefined ? { baselineKey: r.baselineKey } : {}),
    stderrBytes: r.stderrBytes,
    // ffmpeg's own words (untrusted): kept as data, quoted wherever a message shows them.
    ...(r.exitCode !== 0 ? { stderrTail: r.stderr.slice(-2000) } : {}),
  };
}

/** The last lines of ffmpeg's diagnostics, quoted and escaped: its words, never ours. */
function quoted(s: string): string {
  return JSON.stringify(s.trim().split('\n').slice(-3).join(' | ').slice(0, 600));
}

/** ffmpeg's diagnostics as the failure's details: data, marked as the sandboxed process's words. */
function diagnostics(r: SupervisedOutcome): Readonly<Record<string, unknown>> {
  return { diagnostics: { source: 'ffmpeg-stderr', untrusted: true, bytes: r.stderrBytes, tail: r.stderr.trim().split('\n').slice(-12).map((l) => l.slice(0, 400)) } };
}

/** What to do about a breach, by the kind of rule it names. */
function breachHint(rule: string): string {
  if (rule === 'limits.wallSeconds') return 'the input is too heavy for this policy; raise limits.wallSeconds or use a smaller input';
  if (rule.startsWith('budget.')) return 'the job cost far more than its media: the arguments (an expression, a filter, an encoder preset) make it too expensive for this policy';
  if (rule.startsWith('output.')) return 'the arguments make the output longer, faster or bigger than the input and the policy allow';
  return 'the job broke a limit of the policy; it was killed with its whole process tree';
}

/**
 * Pure: what a finished sandboxed ffmpeg means; undefined when it succeeded. Only structured
 * facts decide: bwrap's status (the sandbox failed, or the command ran and ended so), the
 * supervisor's own kills, the kernel's limit signals. ffmpeg's diagnostics are quoted in the
 * message as its words and decide nothing; an escape sign in them may have killed the job, but
 * the job is then an ffmpeg failure (exit 6), never a limit or a sandbox failure.
 */
export function classifyRun(r: SupervisedOutcome): Failure | undefined {
  if (r.interrupted) return interruptedFailure(r.interrupted);
  if (r.withheld) {
    return { reason: 'sandbox-unavailable', message: 'ffmpeg was not started: its start gate was refused', hint: 'the job could not be recorded; see the message before this one', violations: [] };
  }
  if (r.sandboxFailed || r.spawnFailed) {
    return { reason: 'sandbox-unavailable', message: `the sandbox could not start ffmpeg (bubblewrap reported no exit of the command); it printed: ${quoted(r.stderr)}`, hint: 'run `zt-ffmpeg doctor`', violations: [] };
  }
  const ffmpeg = { exitCode: r.exitCode, signal: r.signal };
  if (r.killedFor?.rule === 'monitor.escape-attempt') {
    const b = r.killedFor;
    return { reason: 'ffmpeg-failed', message: `ffmpeg was stopped: ${b.message}`, hint: 'the input or the arguments made ffmpeg try to reach something outside the sandbox; the output was discarded', violations: [{ rule: b.rule, actual: b.actual, limit: b.limit, message: b.message }], details: diagnostics(r), ffmpeg };
  }
  if (r.killedFor) {
    const b = r.killedFor;
    return breachFailure(b.rule.startsWith('monitor.') ? 'killed-by-monitor' : 'limit-breached', b, `job killed: ${b.message}`, breachHint(b.rule));
  }
  if (r.exitCode === 0) return undefined;
  if (r.limit) {
    const breach = { rule: r.limit.rule, actual: r.signal ?? r.exitCode ?? 'unknown', limit: r.limit.limit, message: r.limit.message };
    return breachFailure('limit-breached', breach, `job stopped by a resource limit: ${r.limit.message}`, 'the input needs more than this policy allows');
  }
  return {
    reason: 'ffmpeg-failed',
    message: `ffmpeg failed (${r.signal ?? `exit ${r.exitCode}`}); it printed (untrusted): ${quoted(r.stderr)}`,
    hint: 'the input may be corrupt, or the arguments wrong for it; the diagnostics are in the audit record',
    violations: [],
    details: diagnostics(r),
    ffmpeg,
  };
}

/**
 * The job directory, made while the input is inspected (it depends only on the target): a job
 * that is refused removes it with everything else when it ends (the clean-up is registered here).
 */
export async function jobDirStage(ctx: JobContext, tools: JobTools, target: OutputTarget, outputName: string): Promise<Result<JobDir>> {
  const dir = await ctx.stage('jobDir', async () => {
    await sweepStaleJobDirs(target);
    return createJobDir(target, tools.identity, outputName);
  });
  if (dir.ok) {
    const jobDir = dir.value;
    ctx.defer(() => removeJobDir(jobDir, target));
  }
  return dir;
}

export async function runStage(
  ctx: JobContext,
  tools: JobTools,
  plan: TranscodePlan,
  jobDir: JobDir,
  decision: { target: OutputTarget; authzRule: string; mediaTotal: number | undefined; progress: boolean },
): Promise<Result<Ran>> {
  if (plan.outputName !== jobDir.output.name) throw new Error(`internal error: the plan writes ${plan.outputName}, the job directory holds ${jobDir.output.name}`);
  const id = tools.identity;
  // Who the sandbox is on the host goes on record: never 0.
  const sandbox = { ...plan.sandbox, hostUid: id.uid, hostGid: id.gid, ...(id.dropped ? { user: id.user } : {}) };
  let last = -1;
  const onProgress = decision.progress
    ? (p: ProgressSnapshot): void => {
        if (p.outSeconds === undefined || p.outSeconds === last) return;
        last = p.outSeconds;
        void ctx.events.emit({ type: 'progress', progress: { seconds: p.outSeconds, speed: p.speed, total: decision.mediaTotal } });
      }
    : undefined;
  const output = { fd: jobDir.output.handle.fd, name: jobDir.output.name };
  // ffmpeg starts only once its decision record is durable: the sandbox is built while the
  // record is written, and waits for that gate before the command starts (start-gate.ts).
  const gate = shutGate();
  const running = ctx.stage('run', () => supervise({ ...plan.run, output, startGate: gate.promise, ...(onProgress ? { onProgress } : {}) }));
  // Awaited on every path below; handled from the start, as it may settle while the record is written.
  running.catch(() => undefined);
  // The decision record: the audit consumer writes it before this emit returns, or it throws.
  let decided: Result<void>;
  try {
    decided = await ctx.stage('decision', () =>
      ctx.events.emit({
        type: 'decision',
        decision: { authorization: { rule: decision.authzRule }, ffmpegArgv: plan.ffmpegArgv, binaries: tools.binaries, sandbox, output: { path: decision.target.path } },
      }),
    );
  } catch (e) {
    gate.refuse();
    await running.catch(() => undefined);
    throw e;
  }
  if (!decided.ok) {
    gate.refuse();
    // The sandbox is killed before its command starts; it is gone before the job ends.
    await running.catch(() => undefined);
    return decided;
  }
  gate.open();
  const ran = await running;
  if (!ran.ok) return ran;
  const outcome = ran.value;
  for (const a of outcome.anomalies) await ctx.warn({ rule: `monitor.${a.kind}`, actual: a.evidence ?? a.message, limit: a.action, message: `anomaly: ${a.message}${a.untrusted ? " (ffmpeg's words, untrusted)" : ''}` });
  await ctx.events.emit({ type: 'run', run: runRecord(outcome) });
  const failure = classifyRun(outcome);
  return failure ? fail(failure) : ok({ jobDir, outcome });
}
