/**
 * What the argument firewall is given (the policy's allow-lists, the job's
 * context) and what it returns.
 */
import type { Violation } from '../../errors.js';

/** Allow-lists from the policy. Option names without the dash and without stream specifier ("c", "b", "vf"). */
export interface FirewallRules {
  readonly options: readonly string[];
  readonly encoders: readonly string[];
  readonly muxers: readonly string[];
  readonly filters: readonly string[];
}

export interface FirewallContext {
  /** Absolute path of the job's private working directory (ffmpeg's cwd). */
  readonly jobDir: string;
  readonly grants?: {
    /** drawtext/showcqt may name a font file (the wrapper binds the font directories read-only). */
    readonly fonts?: boolean;
  };
  /** Upper bound for -threads (the wrapper bounds threads itself). Default 16. */
  readonly maxThreads?: number;
  /** The policy's output limits (output.*): literal rates and sizes past them are refused. */
  readonly output?: OutputBounds;
}

/** What an output may be, as far as the arguments can say it (policy `output` section). */
export interface OutputBounds {
  readonly maxFrameRate: number;
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly maxPixels: number;
}

/** An option that passed, as ffmpeg will read it. */
export interface AcceptedOption {
  readonly index: number;
  /** Canonical option name (vcodec → c). */
  readonly name: string;
  /** Stream specifier as written or implied by an alias (-vcodec → v). */
  readonly spec?: string;
  readonly value?: string;
}

export interface FirewallAccepted {
  readonly ok: true;
  /** The arguments as given. */
  readonly args: string[];
  readonly options: readonly AcceptedOption[];
  /**
   * The output format as ffmpeg itself reads the arguments: the value of the
   * last -f (a later -f overrides an earlier one). Absent when none is given.
   */
  readonly muxer?: string;
  /**
   * The arguments with every -f and its value removed, so that the wrapper
   * can pass the one muxer itself, last, where nothing can override it.
   */
  readonly outputArgs: string[];
}

export type FirewallResult = FirewallAccepted | { readonly ok: false; readonly violations: Violation[] };

/** Which argument a violation is about. Goes into Violation.actual. */
export interface ArgRef {
  /** 0-based index in the passthrough arguments. */
  readonly index: number;
  readonly arg: string;
  /** The value (for an option), the filter name, the label… whatever was refused. */
  readonly value?: string;
}
