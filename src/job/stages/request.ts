/**
 * Stage 2, the request itself, before anything is trusted or read: the destination
 * (src/publish/destination.ts), the vetted operation and its target (src/plan/operation.ts),
 * and raw passthrough arguments, which need the policy's permission and then the argument
 * firewall (src/plan/firewall.ts). Cheap, and it fails fast on a mistyped command line.
 */
import { ZtError } from '../../errors.js';
import { checkOutput, type OutputTarget } from '../../publish/destination.js';
import { chooseOperation, type ChosenOperation } from '../../plan/operation.js';
import { checkPassthroughArgs } from '../../plan/firewall/index.js';
import { SANDBOX_JOB_DIR } from '../../sandbox/bwrap.js';
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import type { Result } from '../failure.js';

export interface RequestArgs {
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

export async function requestStage(ctx: JobContext, policy: Policy, args: RequestArgs): Promise<Result<CheckedRequest>> {
  return ctx.stage('request', async () => {
    const target = await checkOutput(args.output, args.overwrite);
    const chosen = chooseOperation(policy, args.operation, target.extension);
    await ctx.events.emit({ type: 'operation', operation: chosen.name });
    const rawArgs = args.rawArgs ?? [];
    if (rawArgs.length === 0) return { target, chosen, raw: false, outputArgs: chosen.target.args, rawMuxer: undefined };
    if (!policy.operations.allowRawArgs) {
      throw new ZtError('input-refused', 'raw ffmpeg arguments are not allowed by this policy', {
        hint: `use a named operation instead: --operation ${Object.keys(policy.operations.list).join('|')}`,
        violations: [{ rule: 'operations.allowRawArgs', actual: rawArgs.join(' '), limit: false, message: 'the policy allows only vetted operations' }],
      });
    }
    const fw = checkPassthroughArgs(rawArgs, policy.firewall, { jobDir: SANDBOX_JOB_DIR, grants: policy.sandbox.grants, output: policy.output });
    if (!fw.ok) {
      throw new ZtError('input-refused', `raw ffmpeg arguments refused by the argument firewall: ${fw.violations.map((v) => v.message).join('; ')}`, {
        hint: fw.violations[0]?.hint ?? 'use a named operation (--operation)',
        violations: fw.violations,
      });
    }
    return { target, chosen, raw: true, outputArgs: fw.outputArgs, rawMuxer: fw.muxer };
  });
}
