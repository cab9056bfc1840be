/**
 * The policy's mode, applied in one place. `enforce` refuses; `warn` and `audit` let the job go
 * on and record every rule that would have refused it, as Kubernetes Pod Security Admission
 * does. Only input and authorization rules are subject to the mode: the sandbox, the binaries'
 * posture, the argument firewall and the audit log always fail closed.
 */
import type { Policy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import type { Failure } from '../failure.js';

/** The failure to end the job with, or undefined when the mode lets it go on (warnings emitted). */
export async function refuseOrWarn(ctx: JobContext, policy: Policy, failure: Failure): Promise<Failure | undefined> {
  if (policy.mode === 'enforce') return failure;
  for (const v of failure.violations) await ctx.warn({ ...v, message: `[${policy.mode}] would refuse: ${v.message}` });
  return undefined;
}
