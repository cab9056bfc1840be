/**
 * Stage 9, publish: the verified file (the descriptor that was verified) handed to the caller
 * (owner and mode set on that inode, so the sandbox's uid owns nothing once published) and
 * moved into place atomically: never half-written, never over an existing file unless asked.
 * Where the policy asks, a signed in-toto provenance statement beside it, written in the
 * private job directory and published the same way.
 */
import type { FileHandle } from 'node:fs/promises';
import { publishFile, type OutputTarget } from '../../publish/destination.js';
import { inJobDir, PROVENANCE_TMP } from '../../publish/job-dir.js';
import { PROVENANCE_SUFFIX, writeProvenance } from '../../publish/intoto.js';
import { loadSigningKey } from '../../keys/index.js';
import { summarizeProbe } from '../../inspect/probe-result.js';
import type { LoadedPolicy } from '../../policy/types.js';
import type { JobTools } from '../../posture/tools.js';
import { VERSION } from '../../version.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';
import type { InspectedInput } from './inspect.js';
import type { Identified } from './identity.js';
import { principalRecord } from './identity.js';
import type { Ran } from './run.js';
import type { VerifiedOutput } from './verify.js';

/** The published file belongs to the caller, with the mode ffmpeg would have given it. */
async function handOver(file: FileHandle, tools: JobTools): Promise<void> {
  if (tools.identity.dropped) await file.chown(process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
  await file.chmod(0o666 & ~process.umask());
  await file.sync();
}

export async function publishStage(
  ctx: JobContext,
  loaded: LoadedPolicy,
  tools: JobTools,
  job: { target: OutputTarget; operation: string; input: InspectedInput; identified: Identified; verified: VerifiedOutput; ran: Ran },
): Promise<Result<void>> {
  return ctx.stage('publish', async () => {
    const { target, verified } = job;
    await handOver(verified.file, tools);
    await publishFile(verified.file, verified.from, target, target.base);
    let provenance: string | undefined;
    if (loaded.policy.audit.intoto) {
      const key = await loadSigningKey(ctx.settings.paths.auditKey, { autoGenerate: false });
      const tmp = inJobDir(job.ran.jobDir, PROVENANCE_TMP);
      const statement = await writeProvenance(
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
        tmp,
      );
      try {
        await publishFile(statement, tmp, target, `${target.base}${PROVENANCE_SUFFIX}`);
      } finally {
        await statement.close();
      }
      provenance = `${target.path}${PROVENANCE_SUFFIX}`;
    }
    await ctx.events.emit({
      type: 'output',
      output: { path: target.path, size: verified.size, sha256: verified.sha256, ...(verified.probe ? { probe: summarizeProbe(verified.probe) } : {}), checkedBy: verified.checkedBy, ...(provenance ? { provenance } : {}) },
    });
  });
}
