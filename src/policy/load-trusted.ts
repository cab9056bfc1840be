/**
 * Loading the job's policy with its signature checked against the trust root that applies.
 */
import path from 'node:path';
import { ZtError } from '../errors.js';
import { loadPolicy } from './load.js';
import { requirePolicySignature } from './signature.js';
import { loadTrustedKeys } from '../keys/index.js';
import type { LoadedPolicy } from './types.js';

/**
 * Load the job's policy. Where the policy must be signed, the trusted keys should come from
 * outside the policy (`--policy-keyring` / ZT_FFMPEG_POLICY_KEYRING): a policy cannot vouch for
 * itself, since whoever edits it could also drop `signature.required` or point its keyring at
 * their own key. With an external keyring, EVERY policy must carry a valid signature by one of
 * its keys, whatever the policy says. Without one, a policy that asks to be signed is checked
 * against its own `signature.keyring` (weaker: `doctor` reports it).
 */
export async function loadJobPolicy(named: string | undefined, opts: { keyring?: string } = {}): Promise<LoadedPolicy> {
  return loadPolicy(named, {
    verifySignature: async ({ path: file, bytes, policy }) => {
      const external = opts.keyring;
      if (!external && !policy.signature.required) return undefined;
      const keyring = external ? path.resolve(external) : policy.signature.keyring ? path.resolve(path.dirname(file), policy.signature.keyring) : undefined;
      if (!keyring) {
        throw new ZtError('policy-signature', `policy ${file} requires a signature but names no keyring`, { hint: 'pass --policy-keyring DIR (or set ZT_FFMPEG_POLICY_KEYRING), or set signature.keyring' });
      }
      const trusted = await loadTrustedKeys({ keyringDir: keyring }).catch((e: unknown) => {
        throw new ZtError('policy-signature', `cannot read the policy keyring ${keyring}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'the keyring must be a directory of trusted *.pub keys' });
      });
      return requirePolicySignature(file, bytes, trusted);
    },
  });
}

