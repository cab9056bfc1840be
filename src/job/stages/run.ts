/**
 * Stage 7, run: a private job directory beside the destination (held by a kernel lock while the
 * job lives; what killed jobs left is swept first), with the one output file the sandbox may
 * write; the decision record (written before ffmpeg starts, or ffmpeg does not start), then
 * ffmpeg in the sandbox under the limits and the monitor (src/sandbox/supervise.ts), as the
 * sandbox user. How the run ended is classified here, once.
 */
import type { OutputTarget } from '../../publish/destination.js';
import { createJobDir, removeJobDir, sweepStaleJobDirs, type JobDir } from '../../publish/job-dir.js';
import { supervise, type SupervisedOutcome } from '../../sandbox/supervise.js';
import { parseStatsLine } from '../../monitor/progress.js';
import type { RunRecord } from '../../audit/job-records.js';
import type { TranscodePlan } from '../../plan/job-plan.js';
import type { JobTools } from '../../posture/tools.js';
import type { LimitsConfig } from '../../policy/types.js';
import { firstLine } from '../../util/text.js';
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
    ...(r.exitCode !== 0 ? { stderrTail: r.stderr.slice(-2000) } : {}),
  };
}

function ruleLimit(rule: string, l: LimitsConfig): string {
  if (rule === 'limits.cpuSeconds') return `${l.cpuSeconds} s`;
  if (rule === 'limits.outputMaxMiB') return `${l.outputMaxMiB} MiB`;
  if (rule === 'limits.addressSpaceMiB') return `${l.addressSpaceMiB} MiB`;
  return rule;
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
}

/** Pure: what a finished sandboxed ffmpeg means; undefined when it succeeded. */
export function classifyRun(r: SupervisedOutcome, limits: LimitsConfig): Failure | undefined {
  if (r.interrupted) return interruptedFailure(r.interrupted);
  if (r.sandboxFailed || r.spawnFailed) {
    return { reason: 'sandbox-unavailable', message: `the sandbox could not start ffmpeg: ${firstLine(r.stderr)}`, hint: 'run `zt-ffmpeg doctor`', violations: [] };
  }
  if (r.killedFor) {
    const b = r.killedFor;
    return breachFailure(b.rule.startsWith('monitor.') ? 'killed-by-monitor' : 'limit-breached', b, `job killed: ${b.message}`,
      b.rule === 'limits.wallSeconds' ? 'the input is too heavy for this policy; raise limits.wallSeconds or use a smaller input' : 'the job broke a limit of the policy; it was killed with its whole process tree');
  }
  if (r.exitCode === 0) return undefined;
  if (r.limit) {
    const breach = { rule: r.limit.rule, actual: r.signal ?? r.exitCode ?? 'unknown', limit: ruleLimit(r.limit.rule, limits), message: r.limit.message };
    return breachFailure('limit-breached', breach, `job stopped by a resource limit: ${r.limit.message}`, 'the input needs more than this policy allows');
  }
  return {
    reason: 'ffmpeg-failed',
    message: `ffmpeg failed (${r.signal ?? `exit ${r.exitCode}`}): ${lastLines(r.stderr)}`,
    hint: 'the input may be corrupt, or the arguments wrong for it; the diagnostics are in the audit record',
    violations: [],
    ffmpeg: { exitCode: r.exitCode, signal: r.signal },
  };
}

export async function runStage(
  ctx: JobContext,
  limits: LimitsConfig,
  tools: JobTools,
  plan: TranscodePlan,
  decision: { target: OutputTarget; authzRule: string; mediaTotal: number | undefined; progress: boolean },
): Promise<Result<Ran>> {
  const dir = await ctx.stage('jobDir', async () => {
    await sweepStaleJobDirs(decision.target);
    return createJobDir(decision.target, tools.identity, plan.outputName);
  });
  if (!dir.ok) return dir;
  const jobDir = dir.value;
  ctx.defer(() => removeJobDir(jobDir, decision.target));
  const id = tools.identity;
  // Who the sandbox is on the host goes on record: never 0.
  const sandbox = { ...plan.sandbox, hostUid: id.uid, hostGid: id.gid, ...(id.dropped ? { user: id.user } : {}) };
  // The decision record: the audit consumer writes it before this emit returns, or it throws.
  const decided = await ctx.stage('audit', () =>
    ctx.events.emit({
      type: 'decision',
      decision: { authorization: { rule: decision.authzRule }, ffmpegArgv: plan.ffmpegArgv, binaries: tools.binaries, sandbox, output: { path: decision.target.path } },
    }),
  );
  if (!decided.ok) return decided;
  let last = 0;
  const onStderr = decision.progress
    ? (chunk: string): void => {
        const s = parseStatsLine(chunk);
        if (!s || s.seconds === last) return;
        last = s.seconds;
        void ctx.events.emit({ type: 'progress', progress: { seconds: s.seconds, speed: s.speed, total: decision.mediaTotal } });
      }
    : undefined;
  const output = { fd: jobDir.output.handle.fd, name: jobDir.output.name };
  const ran = await ctx.stage('run', () => supervise({ ...plan.run, output, ...(onStderr ? { onStderr } : {}) }));
  if (!ran.ok) return ran;
  const outcome = ran.value;
  for (const a of outcome.anomalies) await ctx.warn({ rule: `monitor.${a.kind}`, actual: a.evidence ?? a.message, limit: a.action, message: `anomaly: ${a.message}` });
  await ctx.events.emit({ type: 'run', run: runRecord(outcome) });
  const failure = classifyRun(outcome, limits);
  return failure ? fail(failure) : ok({ jobDir, outcome });
}
