/**
 * The tools a job runs with: the posture of the binaries, the sandbox's readiness and the
 * seccomp program. Fails closed (exit 7) unless the policy permits degraded mode.
 */
import { existsSync } from 'node:fs';
import type { Policy } from '../policy/types.js';
import { checkPosture, postureError, type BinaryFacts, type BinaryName, type PostureReport } from './binaries.js';
import { presentProcMask, type SandboxTools } from '../sandbox/supervise.js';
import { FONT_DIRS } from '../sandbox/bwrap.js';
import { buildSeccompProgram, hostSeccompArch, seccompProfileHash } from '../sandbox/seccomp/index.js';
import type { StatePaths } from '../util/paths.js';
import { resolveSandboxIdentity, type SandboxIdentity } from '../sandbox/identity.js';
import { cacheKey } from './capabilities/cache.js';
import { loaderOrderFor, type LoaderOrder } from './loader/order.js';
import type { FileHandle } from 'node:fs/promises';

export interface JobTools {
  readonly sandbox: SandboxTools;
  /** Who the sandboxed processes are on the host (never root). */
  readonly identity: SandboxIdentity;
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** The binaries' descriptors as posture checked them, bound into every sandbox. */
  readonly ffmpegFd?: number;
  readonly ffprobeFd?: number;
  readonly binaries: Partial<Record<BinaryName, BinaryFacts>>;
  /**
   * How the sandboxed ffprobe is started, where a faster load order was proven harmless
   * (loader/order.ts). ffmpeg starts as it is: a long job's process keeps its own name for ps,
   * top and pgrep, and 20 ms of its start are nothing beside an encode.
   */
  readonly ffprobeLoader?: LoaderOrder;
  /** The seccomp program (BPF), handed to every sandbox on its stdin; kept in memory only. */
  readonly seccompProgram: Buffer | undefined;
  readonly seccompProfile: string;
  readonly seccompHash: string | undefined;
  /** Where per-binary facts (option listings) are cached. */
  readonly stateDir: string;
  cleanup(): Promise<void>;
}

/**
 * Posture + sandbox readiness + who the sandbox runs as. Fails closed (exit 7) unless the policy
 * permits degraded mode; `signal` cancels every sandboxed run of the job.
 */
export async function prepareTools(policy: Policy, paths: StatePaths, need: { ffmpeg: boolean }, signal?: AbortSignal): Promise<JobTools> {
  // Before anything runs: a root caller without a sandbox user is refused here.
  const identity = await resolveSandboxIdentity(policy.sandbox.user);
  const names: BinaryName[] = ['ffprobe', 'bwrap', 'prlimit', ...(need.ffmpeg ? (['ffmpeg'] as const) : [])];
  const report = await checkPosture(policy.posture, names, paths.postureCache, identity.dropped ? { uid: identity.uid, gid: identity.gid } : undefined);
  try {
    return await assemble(policy, paths, report, identity, signal);
  } catch (e) {
    await report.release();
    throw e;
  }
}

async function assemble(policy: Policy, paths: StatePaths, report: PostureReport, identity: SandboxIdentity, signal: AbortSignal | undefined): Promise<JobTools> {
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
  let seccompProgram: Buffer | undefined;
  let seccompHash: string | undefined;
  if (policy.sandbox.seccomp !== 'none' && !degraded) {
    const arch = hostSeccompArch();
    seccompProgram = buildSeccompProgram(policy.sandbox.seccomp, arch);
    seccompHash = seccompProfileHash(policy.sandbox.seccomp, arch);
  }
  const ffmpegFd = report.handles.ffmpeg?.fd;
  const ffprobeFd = report.handles.ffprobe?.fd;
  const prlimitFd = report.handles.prlimit?.fd;
  const runAs = identity.dropped ? { uid: identity.uid, gid: identity.gid } : undefined;
  const loader = degraded ? undefined : await ffprobeLoaderOrder(report, paths.stateDir, runAs);
  return {
    sandbox: {
      bwrap: degraded ? undefined : b.bwrap?.path,
      prlimit,
      ...(prlimitFd !== undefined ? { prlimitFd } : {}),
      degraded,
      fontDirs: FONT_DIRS.filter((d) => existsSync(d)),
      procMask: presentProcMask(),
      ...(identity.dropped ? { runAs: { uid: identity.uid, gid: identity.gid } } : {}),
      ...(signal ? { signal } : {}),
    },
    identity,
    ffmpeg,
    ffprobe,
    ...(ffmpegFd !== undefined ? { ffmpegFd } : {}),
    ...(ffprobeFd !== undefined ? { ffprobeFd } : {}),
    binaries: b,
    ...(loader ? { ffprobeLoader: loader.order } : {}),
    seccompProgram,
    seccompProfile: degraded ? 'none (degraded)' : policy.sandbox.seccomp,
    seccompHash,
    stateDir: paths.stateDir,
    async cleanup() {
      await loader?.handle.close().catch(() => undefined);
      await report.release();
    },
  };
}

/** The load order of the checked ffprobe (none where it cannot be proven: it starts as always). */
async function ffprobeLoaderOrder(report: PostureReport, stateDir: string, runAs: { uid: number; gid: number } | undefined): Promise<{ order: LoaderOrder; handle: FileHandle } | undefined> {
  const facts = report.binaries.ffprobe;
  const handle = report.handles.ffprobe;
  if (!facts || !handle) return undefined;
  // Only ever a faster start: whatever fails here, ffprobe starts as it always did.
  const key = await cacheKey(facts.path, facts.sha256).catch(() => undefined);
  if (key === undefined) return undefined;
  const r = await loaderOrderFor(handle, key, { stateDir, ...(runAs ? { runAs } : {}) }).catch(() => undefined);
  return r?.ok ? { order: r.order, handle: r.handle } : undefined;
}
