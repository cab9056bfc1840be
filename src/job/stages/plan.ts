/**
 * Stage 6, plan: the ffmpeg command line and its sandbox, from the operation (or the
 * firewall-approved raw arguments), the probe and the pins the inspection established
 * (src/plan/job-plan.ts, pure), the budgets derived from the input (src/plan/budget.ts), plus
 * the learned baseline of this operation from the log.
 */
import { readBaseline, type Baseline } from '../../monitor/baseline.js';
import { planTranscode, inputPins, baselineMediaSeconds, type TranscodePlan } from '../../plan/job-plan.js';
import { sandboxedInput, sandboxSite } from '../../inspect/inspect-input.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';
import type { CheckedRequest } from './request.js';
import type { InspectedInput } from './inspect.js';

/** `baseline`: the read of the learned baseline, when the job started it early (while the input was inspected). */
export async function planStage(ctx: JobContext, policy: Policy, tools: JobTools, request: CheckedRequest, input: InspectedInput, baseline?: Promise<Baseline | undefined>): Promise<Result<TranscodePlan>> {
  return ctx.stage('plan', async () => {
    const { chosen } = request;
    const site = { ...sandboxSite(tools, 'ffmpeg', tools.ffmpeg), seccompProfile: tools.seccompProfile, seccompHash: tools.seccompHash };
    const sandboxInput = sandboxedInput(input.report);
    const pins = inputPins(policy, site, sandboxInput, input.probe, input.report.decodeHardening, input.report.streamUse?.used);
    const mediaSeconds = baselineMediaSeconds(policy, input.probe, { raw: request.raw, still: chosen.target.still === true });
    const learned = mediaSeconds !== undefined && !ctx.dryRun
      ? await (baseline ?? readBaseline(ctx.settings.paths.auditLog, { operation: chosen.name, target: chosen.extension }).catch(() => undefined))
      : undefined;
    return planTranscode(policy, site, sandboxInput, pins, {
      operation: chosen.name,
      target: chosen.target,
      extension: chosen.extension,
      outputArgs: request.outputArgs,
      rawMuxer: request.rawMuxer,
      raw: request.raw,
    }, { baseline: learned, mediaSeconds }, { probe: input.probe, inputBytes: input.report.input.stat.size });
  });
}
