/**
 * What inspect runs is planned elsewhere. Inspect opens the file, asks posture what the
 * binaries can do, runs in the sandbox the command lines it is handed and judges what they
 * report; the command lines and the hardening they inject are built by src/plan, which comes
 * after inspect in the pipeline (it reads inspect's results). The caller hands a planner in,
 * so inspect never imports plan and the dependency points one way.
 *
 * `H` is the planner's own description of the hardening it injected: inspect keeps it in its
 * report for the plan of the job, and reads only which options went in and which the build
 * lacks.
 */
import type { ZtError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import type { Capabilities } from '../posture/capabilities/listing.js';
import type { ProbeResult } from './probe-result.js';
import type { LoaderStart, SandboxTools, SupervisedRun } from '../sandbox/supervise.js';

/** What inspect reads of injected hardening (for `check`, --json and the audit record). */
export interface InjectedHardening {
  /** Catalogue ids injected. */
  readonly applied: readonly string[];
  /** Catalogue ids the build does not have. */
  readonly absent: readonly string[];
}

/** The sandbox a command runs in: the tools, the seccomp program, and the binary it runs. */
export interface SandboxSite {
  readonly sandbox: SandboxTools;
  readonly seccompProgram: Buffer | undefined;
  readonly binary: string;
  /** The binary's descriptor as posture checked it: bound over its path in the sandbox. */
  readonly binaryFd?: number;
  /** Start it by its loader with a proven load order (src/posture/loader/order.ts). */
  readonly loader?: LoaderStart;
}

/** A file bound into the sandbox from an open descriptor (the one that was hashed), under a fixed name. */
export interface SandboxedInput {
  readonly fd: number;
  /** Name inside the sandbox (input.<ext>, output); never derived from the user's path. */
  readonly name: string;
}

export interface InspectPlanner<H extends InjectedHardening> {
  /** The refusal (exit 7) when the build lacks hardening the policy requires; undefined when it has it all. */
  hardeningRefusal(policy: Policy, caps: Capabilities, binary: string): ZtError | undefined;
  /** The sandboxed ffprobe of the input, hardened with every option the build has. */
  probe(policy: Policy, caps: Capabilities, site: SandboxSite, input: SandboxedInput): { readonly run: SupervisedRun; readonly hardening: H };
  /**
   * The hardening for ffmpeg decoding this probed file (the deep check and the job). `used`: the
   * streams the job reads (undefined: all); only their decoders are allowed.
   */
  decodeHardening(policy: Policy, caps: Capabilities, probe: ProbeResult, used: ReadonlySet<number> | undefined): H;
  /** The deep check: decode every stream the job reads to null under the same pins and limits as the job. */
  deepCheck(policy: Policy, site: SandboxSite, input: SandboxedInput, probe: ProbeResult, hardening: H, used: ReadonlySet<number> | undefined): SupervisedRun;
}
