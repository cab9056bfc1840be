/** Loading a policy as a job would: schema, stage, `extends`, and the signature where one is demanded. */
import { loadJobPolicy } from '../policy/load-trusted.js';
import { allowListedEnv } from '../util/paths.js';
import { policyResult, type PolicyResult } from './results.js';

export interface LoadPolicyOptions {
  /** Directory of trusted *.pub keys: the policy must carry a valid signature by one of them. */
  readonly policyKeyring?: string;
  /** Where ZT_FFMPEG_POLICY and ZT_FFMPEG_POLICY_KEYRING are taken from (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A policy file or a bundled stage name (default: ZT_FFMPEG_POLICY, else the bundled advanced
 * policy), validated. Throws a ZtError (exit 9) naming file:line:column of every problem.
 */
export async function loadPolicy(ref?: string, o: LoadPolicyOptions = {}): Promise<PolicyResult> {
  const env = allowListedEnv(o.env ?? process.env);
  const keyring = o.policyKeyring ?? env['ZT_FFMPEG_POLICY_KEYRING'];
  return policyResult(await loadJobPolicy(ref ?? env['ZT_FFMPEG_POLICY'], keyring ? { keyring } : {}));
}
