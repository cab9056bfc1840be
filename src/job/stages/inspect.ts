/**
 * Stage 5, inspect the input before anything decodes it for real (src/inspect/): regular file,
 * size, magic bytes, the container's own framing, smuggled playlists, the sandboxed ffprobe and
 * the policy's rules on what it found; then, where the policy asks, the deep check (every
 * stream decoded to nothing, in the sandbox). Every violation is reported, not just the first.
 */
import { ZtError } from '../../errors.js';
import { jobPlanner } from '../../plan/job-plan.js';
import { inspectInput, inspectionSummary, deepCheck, summarizeProbe, type InspectReport } from '../../inspect/inspect-input.js';
import type { HardeningPlan } from '../../plan/hardening/plan.js';
import type { ProbeResult } from '../../inspect/probe-result.js';
import type { ContentDigest } from '../../inspect/file.js';
import type { InputRecord } from '../../audit/job-records.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import { failureFrom, fail, ok, type Result } from '../failure.js';
import { refuseOrWarn } from './enforce.js';
import { measureDurationIfUnknown } from './measure-duration.js';

/** An input that passed (or, under warn/audit, was let through) with what was learned of it. */
export interface InspectedInput {
  readonly report: InspectReport<HardeningPlan>;
  readonly probe: ProbeResult;
  readonly digest: ContentDigest;
}

export function inputRecord(r: InspectReport): InputRecord {
  return {
    path: r.input.path,
    size: r.input.stat.size,
    ...(r.digest ? { sha256: r.digest.sha256 } : {}),
    ...(r.magic.type ? { magic: r.magic.type } : {}),
    ...(r.probe ? { probe: summarizeProbe(r.probe) } : {}),
    ...inspectionSummary(r),
  };
}

function refusal(prefix: string, violations: InspectReport['violations']): ZtError {
  return new ZtError('input-refused', `${prefix}: ${violations.map((v) => v.message).join('; ')}`, { hint: violations[0]?.hint, violations });
}

/** `outputArgs`: the job's output arguments; the streams they map are the streams judged as read. */
export async function inspectStage(
  ctx: JobContext,
  policy: Policy,
  tools: JobTools,
  input: string,
  boundDigest: string | undefined,
  outputArgs: readonly string[],
  onProbeStarted?: () => void,
): Promise<Result<InspectedInput>> {
  const inspected = await ctx.stage('inspect', () => inspectInput(input, policy, tools, jobPlanner, { digestNow: false, outputArgs: [outputArgs], ...(onProbeStarted ? { onProbeStarted } : {}) }));
  if (!inspected.ok) return inspected;
  const report = inspected.value;
  ctx.defer(() => report.input.close());
  for (const [k, v] of Object.entries(report.timings)) await ctx.events.emit({ type: 'timing', stage: `inspect.${k}`, ms: v });
  await ctx.events.emit({ type: 'input', input: inputRecord(report) });
  if (boundDigest !== undefined && report.digest !== undefined && report.digest.sha256 !== boundDigest) {
    return fail(failureFrom(new ZtError('input-refused', 'the input changed between the token check and the inspection', {
      hint: 'do not modify files while zt-ffmpeg processes them',
      violations: [{ rule: 'input.unchanged', actual: report.digest.sha256, limit: boundDigest, message: 'the sha256 of the input changed during the job' }],
    })));
  }
  for (const v of report.warnings) await ctx.warn(v);
  if (report.violations.length > 0) {
    const f = failureFrom(refusal('input refused by policy', report.violations));
    // Without a probe there is nothing to run on, whatever the mode.
    const refused = report.probe ? await refuseOrWarn(ctx, policy, f) : f;
    if (refused) return fail(refused);
  }
  const { digest } = report;
  if (!report.probe || !digest) return fail(failureFrom(new ZtError('internal', 'inspection returned no probe', {})));
  const m = await ctx.stage('duration', () => measureDurationIfUnknown(policy, tools, report, report.probe!));
  if (!m.ok) return m;
  const probe = m.value.probe;
  if (m.value.measured !== undefined) {
    await ctx.events.emit({ type: 'input', input: { ...inputRecord(report), probe: summarizeProbe(probe), durationMeasured: m.value.measured } });
  }
  if (m.value.violations.length > 0) {
    const refused = await refuseOrWarn(ctx, policy, failureFrom(refusal('input refused by policy', m.value.violations)));
    if (refused) return fail(refused);
  }
  if (policy.input.deepCheck) {
    const dv = await ctx.stage('deepCheck', () => deepCheck(report, policy, tools, jobPlanner));
    if (!dv.ok) return dv;
    if (dv.value.length > 0) return fail(failureFrom(refusal('input refused by the deep check', dv.value)));
  }
  return ok({ report, probe, digest });
}
