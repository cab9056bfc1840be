/**
 * Stage 8, verify: the bytes validated must be the bytes decoded (the input's identity and
 * bytes re-checked), and the output, written by a process that parsed hostile bytes, must be
 * the very file the host made for it (src/verify/sandbox-output.ts, claimed only once the whole
 * tree is dead) and what the operation promised (src/verify/output-probe.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import { ZtError } from '../../errors.js';
import { identityOf, sameIdentity } from '../../inspect/file.js';
import { allSettledOrThrow } from '../../util/settle.js';
import { verifyOutput, type OutputCheck } from '../../verify/output-probe.js';
import { claimSandboxOutput } from '../../verify/sandbox-output.js';
import { inJobDir } from '../../publish/job-dir.js';
import type { OutputBudget } from '../../monitor/budget.js';
import { OUTPUT_BOUND_RULES } from '../../verify/rule-ids.js';
import type { RuleId } from '../../rule-id.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';
import type { CheckedRequest } from './request.js';
import type { InspectedInput } from './inspect.js';
import type { Ran } from './run.js';

/** The rules of an output over its budget: a breached limit (exit 5), not an ffmpeg failure. */
const BOUND_RULES: ReadonlySet<RuleId> = new Set<RuleId>([...OUTPUT_BOUND_RULES, 'limits.outputMaxMiB']);

/** A verified output: its checks, the descriptor that was verified (and is published), and its name in the job directory. */
export interface VerifiedOutput extends OutputCheck {
  readonly file: FileHandle;
  readonly from: string;
}

/**
 * The input is still the file that was validated: same inode, size and times, and every byte
 * the same, by the keyed seal made in the same pass as its sha256 (src/util/seal.ts): the
 * bytes read now are the bytes hashed then, at the cost of their reads.
 */
async function inputUnchanged(i: InspectedInput): Promise<boolean> {
  const handle = i.report.input.handle;
  if (!sameIdentity(identityOf(await handle.stat()), i.report.identity)) return false;
  return i.digest.seal.matchesFile(handle);
}

export async function verifyStage(ctx: JobContext, policy: Policy, tools: JobTools, request: CheckedRequest, input: InspectedInput, ran: Ran, budget: OutputBudget): Promise<Result<VerifiedOutput>> {
  return ctx.stage('verify', async () => {
    const jd = ran.jobDir;
    const from = inJobDir(jd, jd.output.name);
    const file = await claimSandboxOutput({ at: from, dev: jd.output.dev, ino: jd.output.ino, uid: tools.identity.uid, maxBytes: budget.bytes.limit }, ran.outcome.leftBehind);
    ctx.defer(() => file.close());
    const expectedDuration = input.probe.duration !== undefined ? Math.min(input.probe.duration, policy.input.maxDurationSeconds) : undefined;
    const target = request.raw ? undefined : request.chosen.target;
    // Three independent things at once: the input's re-check (its reads wait in libuv's pool),
    // the output's checks and hash, and the output's bytes written to disk (publish's fsync,
    // after it sets the owner and mode, then has only those to write).
    const [still, verified] = await allSettledOrThrow<[boolean, OutputCheck, void]>([
      inputUnchanged(input),
      verifyOutput(file, target, request.raw ? undefined : expectedDuration, {
        sandbox: tools.sandbox,
        ffprobe: tools.ffprobe,
        ...(tools.ffprobeFd !== undefined ? { ffprobeFd: tools.ffprobeFd } : {}),
        ...(tools.ffprobeLoader ? { ffprobeLoader: tools.ffprobeLoader } : {}),
        seccompProgram: tools.seccompProgram,
        probeTimeoutSeconds: policy.input.probe.timeoutSeconds,
        stateDir: tools.stateDir,
        ...(tools.binaries.ffprobe ? { ffprobeSha256: tools.binaries.ffprobe.sha256 } : {}),
      }, budget),
      file.datasync(),
    ]);
    if (!still) {
      throw new ZtError('input-refused', 'the input changed while the job ran; the output is discarded', {
        hint: 'do not modify files while zt-ffmpeg processes them',
        violations: [{ rule: 'input.unchanged', actual: 'modified during the job', limit: 'the validated bytes', message: 'inode, size, times or bytes of the input changed after inspection' }],
      });
    }
    // An output past its budget is a breached limit (exit 5), whatever made it; anything else
    // wrong with it means ffmpeg did not produce what was promised (exit 6).
    const overBudget = verified.violations.filter((v) => BOUND_RULES.has(v.rule));
    if (overBudget.length > 0) {
      throw new ZtError('limit-breached', `the output is over its budget: ${overBudget.map((v) => v.message).join('; ')}`, { hint: overBudget[0]?.hint, violations: verified.violations });
    }
    if (verified.violations.length > 0) {
      throw new ZtError('ffmpeg-failed', `the output failed verification: ${verified.violations.map((v) => v.message).join('; ')}`, { hint: 'the output was not published', violations: verified.violations });
    }
    return { ...verified, file, from };
  });
}
