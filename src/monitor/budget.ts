/**
 * The shapes of a job's budgets as the monitor and the supervisor enforce them (computed from
 * the policy and the input by src/plan/budget.ts): each limit carries the rule a breach names
 * and the words that say how it was derived.
 */
import type { RuleId } from '../rule-id.js';

/** One derived limit: its value, the rule a breach names, and how it was derived. */
export interface Bound {
  readonly limit: number;
  readonly rule: RuleId;
  /** e.g. "30 s per media-second × 2.0 s of media, at least 10 s, at most 3600 s". */
  readonly basis: string;
}

/** The cost budget of every ffmpeg run of a job (the deep check and the transcode). */
export interface RunBudget {
  /** Media seconds the budget was derived from (0 for a still or an input of unknown length). */
  readonly mediaSeconds: number;
  /** CPU time of the whole sandboxed tree, in milliseconds. */
  readonly cpuMs: Bound;
  /** Wall time of the run, in milliseconds. */
  readonly wallMs: Bound;
  /** ffmpeg's diagnostics past this many bytes are a flood. */
  readonly stderrBytes: Bound;
}

/** What the output of the transcode may be. */
export interface OutputBudget {
  /** Longest output, in seconds. */
  readonly seconds: Bound;
  readonly frameRate: Bound;
  readonly width: Bound;
  readonly height: Bound;
  readonly pixels: Bound;
  /** Largest output file (also the file-size limit of the run). */
  readonly bytes: Bound;
}
