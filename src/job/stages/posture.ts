/**
 * Stage 3, posture (devices pillar): the binaries the job will trust, checked before any of
 * them runs, and the sandbox's readiness (src/posture/tools.ts). Degraded mode (no bubblewrap)
 * only where an initial-stage policy permits it, and then every record says so.
 */
import { prepareTools, type JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import { ok, type Result } from '../failure.js';

export async function postureStage(ctx: JobContext, policy: Policy, need: { ffmpeg: boolean }, signal?: AbortSignal): Promise<Result<JobTools>> {
  const r = await ctx.stage('posture', () => prepareTools(policy, ctx.settings.paths, need, signal));
  if (!r.ok) return r;
  const tools = r.value;
  ctx.defer(() => tools.cleanup());
  await ctx.events.emit({ type: 'posture', degraded: tools.sandbox.degraded });
  if (tools.sandbox.degraded) {
    await ctx.warn({
      rule: 'sandbox.required',
      actual: 'bubblewrap unavailable',
      limit: 'sandbox',
      message: 'DEGRADED: running without the bubblewrap sandbox, as this initial-stage policy permits',
      hint: 'install bubblewrap to run sandboxed',
    });
  }
  return ok(tools);
}
