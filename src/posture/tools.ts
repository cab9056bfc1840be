/**
 * The tools a job runs with: the posture of the binaries, the sandbox's readiness and the
 * seccomp program. Fails closed (exit 7) unless the policy permits degraded mode.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Policy } from '../policy/types.js';
import { checkPosture, postureError, type BinaryFacts, type BinaryName } from './binaries.js';
import type { SandboxTools } from '../sandbox/supervise.js';
import { FONT_DIRS } from '../sandbox/bwrap.js';
import { writeSeccompFile, seccompProfileHash } from '../sandbox/seccomp/index.js';
import type { StatePaths } from '../util/paths.js';

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
    sandbox: { bwrap: degraded ? undefined : b.bwrap?.path, prlimit, degraded, fontDirs: FONT_DIRS.filter((d) => existsSync(d)) },
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
