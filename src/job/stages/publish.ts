/**
 * Stage 9, publish: the verified file moved into place atomically (never half-written, never
 * over an existing file unless asked), and, where the policy asks, a signed in-toto provenance
 * statement beside it.
 */
import { publish, type OutputTarget } from '../../publish/destination.js';
import { writeProvenance } from '../../publish/intoto.js';
import { loadSigningKey } from '../../keys/index.js';
import { summarizeProbe } from '../../inspect/probe-result.js';
import type { OutputCheck } from '../../verify/output-probe.js';
import type { LoadedPolicy } from '../../policy/types.js';
import { VERSION } from '../../version.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';
import type { InspectedInput } from './inspect.js';
import type { Identified } from './identity.js';
import { principalRecord } from './identity.js';

export async function publishStage(
  ctx: JobContext,
  loaded: LoadedPolicy,
  job: { target: OutputTarget; operation: string; input: InspectedInput; identified: Identified; verified: OutputCheck & { file: string } },
): Promise<Result<void>> {
  return ctx.stage('publish', async () => {
    const { target, verified } = job;
    await publish(verified.file, target);
    let provenance: string | undefined;
    if (loaded.policy.audit.intoto) {
      const key = await loadSigningKey(ctx.settings.paths.auditKey, { autoGenerate: false });
      provenance = await writeProvenance(
        {
          output: { path: target.path, sha256: verified.sha256 },
          input: { path: job.input.report.input.path, sha256: job.input.digest.sha256 },
          policy: { path: loaded.path, sha256: loaded.sha256, stage: loaded.policy.stage },
          operation: job.operation,
          principal: principalRecord(job.identified.principal),
          audit: { log: ctx.settings.paths.auditLog, decisionSeq: ctx.events.facts.decisionSeq, jobId: ctx.jobId },
          tool: { name: 'zt-ffmpeg', version: VERSION },
        },
        key,
      );
    }
    await ctx.events.emit({
      type: 'output',
      output: { path: target.path, size: verified.size, sha256: verified.sha256, ...(verified.probe ? { probe: summarizeProbe(verified.probe) } : {}), ...(provenance ? { provenance } : {}) },
    });
  });
}
