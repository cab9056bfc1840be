/**
 * The shared front of every job: the policy (with its signature checked where demanded), the
 * posture of the binaries, the sandbox tools and the seccomp program.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ZtError } from '../errors.js';
import { loadPolicy } from '../policy/load.js';
import { requirePolicySignature } from '../policy/signature.js';
import { loadTrustedKeys } from '../keys/index.js';
import type { LoadedPolicy, Policy } from '../policy/types.js';
import { checkPosture, postureError, type BinaryFacts, type BinaryName } from '../posture/binaries.js';
import type { SandboxTools } from '../sandbox/supervise.js';
import { writeSeccompFile, seccompProfileHash } from '../sandbox/seccomp/index.js';
import type { StatePaths } from '../util/paths.js';

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

export interface JobTools {
  readonly sandbox: SandboxTools;
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly binaries: Partial<Record<BinaryName, BinaryFacts>>;
  readonly seccompFile: string | undefined;
  readonly seccompProfile: string;
  readonly seccompHash: string | undefined;
  /** Where per-binary facts (option listings) are cached. */
  readonly stateDir: string;
  cleanup(): Promise<void>;
}

/** Posture + sandbox readiness. Fails closed (exit 7) unless the policy permits degraded mode. */
export async function prepareTools(policy: Policy, paths: StatePaths, need: { ffmpeg: boolean }): Promise<JobTools> {
  const names: BinaryName[] = ['ffprobe', 'bwrap', 'prlimit', ...(need.ffmpeg ? (['ffmpeg'] as const) : [])];
  const report = await checkPosture(policy.posture, names, paths.postureCache);
  let degraded = false;
  const fatal = report.violations.filter((v) => {
    if (v.rule.startsWith('posture.bwrap.') && !policy.sandbox.required && policy.stage === 'initial') {
      degraded = true;
      return false;
    }
    return true;
  });
  if (fatal.length > 0) throw postureError({ ...report, violations: fatal });
  const b = report.binaries;
  const ffprobe = b.ffprobe?.path;
  const prlimit = b.prlimit?.path;
  if (!ffprobe || !prlimit) throw postureError(report);
  const ffmpeg = b.ffmpeg?.path ?? '/usr/bin/ffmpeg';
  let dir: string | undefined;
  let seccompFile: string | undefined;
  let seccompHash: string | undefined;
  if (policy.sandbox.seccomp !== 'none' && !degraded) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zt-ffmpeg-seccomp-'));
    seccompFile = await writeSeccompFile(policy.sandbox.seccomp, dir);
    seccompHash = seccompProfileHash(policy.sandbox.seccomp);
  }
  return {
    sandbox: { bwrap: degraded ? undefined : b.bwrap?.path, prlimit, degraded },
    ffmpeg,
    ffprobe,
    binaries: b,
    seccompFile,
    seccompProfile: degraded ? 'none (degraded)' : policy.sandbox.seccomp,
    seccompHash,
    stateDir: paths.stateDir,
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
