/**
 * Stage 2, the request itself, before anything is trusted or read: the destination
 * (src/publish/destination.ts), the vetted operation and its target (src/plan/operation.ts),
 * and raw passthrough arguments, which need the policy's permission and then the argument
 * firewall (src/plan/firewall.ts). Cheap, and it fails fast on a mistyped command line.
 */
import { ZtError } from '../../errors.js';
import { checkOutput, refuseProtectedTarget, type OutputTarget } from '../../publish/destination.js';
import { PROVENANCE_SUFFIX } from '../../publish/intoto.js';
import { checkpointPathFor } from '../../audit/checkpoint.js';
import { publicKeyPathFor } from '../../keys/index.js';
import { signaturePathOf } from '../../policy/signature.js';
import { chooseOperation, type ChosenOperation } from '../../plan/operation.js';
import { checkPassthroughArgs } from '../../plan/firewall/index.js';
import { SANDBOX_SCRATCH_DIR } from '../../sandbox/bwrap.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';

export interface RequestArgs {
  readonly input: string;
  readonly output: string;
  readonly operation: string | undefined;
  /** Raw ffmpeg output arguments after `--` (undefined or empty when none were given). */
  readonly rawArgs: readonly string[] | undefined;
  readonly overwrite: boolean;
}

export interface CheckedRequest {
  readonly target: OutputTarget;
  readonly chosen: ChosenOperation;
  /** Raw arguments were given (and passed the firewall). */
  readonly raw: boolean;
  /** The output arguments: the operation's template, or the firewall-approved raw arguments without -f. */
  readonly outputArgs: readonly string[];
  /** The muxer the raw arguments chose with -f, as ffmpeg would read it. */
  readonly rawMuxer: string | undefined;
}

/**
 * `-i -` and `-o -` mean stdin and stdout to ffmpeg. Refused by name: the input must be a
 * regular file that is hashed, inspected and re-checked before ffmpeg reads it, and the output
 * is verified and published atomically, which a pipe allows neither of.
 */
export function refuseStdio(input: string, output?: string): void {
  if (input === '-') {
    throw new ZtError('usage', 'reading the input from stdin (-i -) is not supported', {
      hint: 'save the input to a file first (e.g. `cat > upload.bin`) and pass its path: zt-ffmpeg hashes and inspects a regular file before anything decodes it',
    });
  }
  if (output === '-') {
    throw new ZtError('usage', 'writing the output to stdout (-o -) is not supported', {
      hint: 'name an output file and read it afterwards (e.g. `-o out.mp4 && cat out.mp4`): the output is verified and published atomically, which a pipe cannot be',
    });
  }
}

/** The files -o must never name: what the job reads, and where its evidence and keys live. */
function protectedFiles(ctx: JobContext, job: { input: string; policyPath: string }): Array<{ path: string; what: string }> {
  const p = ctx.settings.paths;
  return [
    { path: job.input, what: 'input' },
    { path: p.auditLog, what: 'audit log' },
    { path: checkpointPathFor(p.auditLog), what: "audit log's checkpoint" },
    { path: `${p.auditLog}.lock`, what: "audit log's lock" },
    { path: p.auditKey, what: 'audit signing key' },
    { path: publicKeyPathFor(p.auditKey), what: 'audit public key' },
    { path: job.policyPath, what: 'policy' },
    { path: signaturePathOf(job.policyPath), what: "policy's signature" },
  ];
}

export async function requestStage(ctx: JobContext, policy: Policy, args: RequestArgs, job: { input: string; policyPath: string }): Promise<Result<CheckedRequest>> {
  return ctx.stage('request', async () => {
    refuseStdio(args.input, args.output);
    const target = await checkOutput(args.output, args.overwrite, { stage: policy.stage, sidecars: policy.audit.intoto ? [PROVENANCE_SUFFIX] : [] });
    ctx.defer(() => target.dirHandle.close());
    await refuseProtectedTarget(target, protectedFiles(ctx, job));
    const chosen = chooseOperation(policy, args.operation, target.extension);
    await ctx.events.emit({ type: 'operation', operation: chosen.name });
    const rawArgs = args.rawArgs ?? [];
    if (rawArgs.length === 0) return { target, chosen, raw: false, outputArgs: chosen.target.args, rawMuxer: undefined };
    if (args.operation !== undefined) {
      // Raw arguments replace a template; with a named operation they would silently drop it.
      throw new ZtError('usage', `raw ffmpeg arguments cannot be combined with --operation ${args.operation}: they would replace its template`, {
        hint: `run the operation alone (--operation ${args.operation}), or give only the raw arguments after -- (they replace the default operation's template)`,
      });
    }
    if (!policy.operations.allowRawArgs) {
      throw new ZtError('args-refused', 'raw ffmpeg arguments are not allowed by this policy', {
        hint: `use a named operation instead: --operation ${Object.keys(policy.operations.list).join('|')}`,
        violations: [{ rule: 'operations.allowRawArgs', actual: rawArgs.join(' '), limit: false, message: 'the policy allows only vetted operations' }],
      });
    }
    const fw = checkPassthroughArgs(rawArgs, policy.firewall, { jobDir: SANDBOX_SCRATCH_DIR, grants: policy.sandbox.grants, output: policy.output });
    if (!fw.ok) {
      throw new ZtError('args-refused', `raw ffmpeg arguments refused by the argument firewall: ${fw.violations.map((v) => v.message).join('; ')}`, {
        hint: fw.violations[0]?.hint ?? 'use a named operation (--operation)',
        violations: fw.violations,
      });
    }
    return { target, chosen, raw: true, outputArgs: fw.outputArgs, rawMuxer: fw.muxer };
  });
}
