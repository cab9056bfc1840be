/**
 * Loading the job's policy with its signature checked against the trust root that applies.
 */
import path from 'node:path';
import { ZtError } from '../errors.js';
import { loadPolicy } from './load.js';
import { requirePolicySignature, signaturePathOf } from './signature.js';
import { loadTrustedKeys, readTrustRoot } from '../keys/index.js';
import type { LoadedPolicy, Policy } from './types.js';

/**
 * Load the job's policy. Where the policy must be signed, the trusted keys should come from
 * outside the policy (`--policy-keyring` / ZT_FFMPEG_POLICY_KEYRING): a policy cannot vouch for
 * itself, since whoever edits it could also drop `signature.required` or point its keyring at
 * their own key. With an external keyring, EVERY policy must carry a valid signature by one of
 * its keys, whatever the policy says. Without one, a policy that asks to be signed is checked
 * against its own `signature.keyring` (weaker: `doctor` reports it).
 */
/** A job's policy file, its signature and keyring are trust roots (src/keys/trust-root.ts): exit 9 when another user could change them. */
const POLICY_ROOT = { what: 'policy', reason: 'policy-invalid' } as const;
const SIGNATURE_ROOT = { what: 'policy signature', reason: 'policy-signature' } as const;

async function readSignature(file: string): Promise<Buffer | 'missing'> {
  try {
    return await readTrustRoot(signaturePathOf(file), SIGNATURE_ROOT, 4096);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
}

/** A signed policy pins every external file it relies on: a JWKS the signer never saw must not be trusted. */
function unpinnedFiles(p: Policy): string[] {
  return p.identity.issuers.filter((i) => i.jwksFile !== undefined && i.jwksSha256 === undefined).map((i) => `identity.issuers[${i.id}].jwksFile ${i.jwksFile ?? ''}`);
}

export async function loadJobPolicy(named: string | undefined, opts: { keyring?: string } = {}): Promise<LoadedPolicy> {
  const loaded = await loadPolicy(named, {
    read: (file) => readTrustRoot(file, POLICY_ROOT),
    verifySignature: async ({ path: file, bytes, policy }) => {
      const external = opts.keyring;
      if (!external && !policy.signature.required) return undefined;
      const keyring = external ? path.resolve(external) : policy.signature.keyring ? path.resolve(path.dirname(file), policy.signature.keyring) : undefined;
      if (!keyring) {
        throw new ZtError('policy-signature', `policy ${file} requires a signature but names no keyring`, { hint: 'pass --policy-keyring DIR (or set ZT_FFMPEG_POLICY_KEYRING), or set signature.keyring' });
      }
      const trusted = await loadTrustedKeys({ keyringDir: keyring }).catch((e: unknown) => {
        throw new ZtError('policy-signature', `cannot read the policy keyring ${keyring}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'the keyring must be a directory of trusted *.pub keys, owned by root or you and writable by nobody else' });
      });
      return requirePolicySignature(file, bytes, trusted, await readSignature(file));
    },
  });
  const unpinned = loaded.signedBy !== undefined ? unpinnedFiles(loaded.policy) : [];
  if (unpinned.length > 0) {
    throw new ZtError('policy-invalid', `signed policy ${loaded.path} relies on files it does not pin: ${unpinned.join(', ')}`, {
      hint: 'pin them (zt-ffmpeg policy pin FILE fills jwksSha256), or inline the keys; then re-sign',
      details: { unpinned },
    });
  }
  return loaded;
}

