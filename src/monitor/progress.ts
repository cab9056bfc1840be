/**
 * ffmpeg's `-progress` report, read from a pipe of its own (CHILD_FD.progress, see
 * src/sandbox/supervise.ts; never mixed with the diagnostics): blocks of `key=value` lines ended by `progress=continue|end`.
 * It drives the progress bar, and the monitor kills a job whose output runs past its budget:
 * longer than the input allows (out_time), more frames than the frame-rate limit allows for
 * that time (frame), or bigger than the size budget (total_size).
 *
 * The report is ffmpeg's word, from a process that parses hostile bytes: it is only ever used
 * to stop a job earlier than the other walls would (the CPU and wall budgets, the file-size
 * limit of the run, the verification of the output), never to let one run longer.
 */
import type { Breach } from './monitor.js';
import type { OutputBudget } from './budget.js';

export interface ProgressSnapshot {
  /** Video frames sent to the encoder so far (absent for audio-only outputs). */
  readonly frame?: number;
  /** Output media time written so far, in seconds. */
  readonly outSeconds?: number;
  /** Bytes written to the output so far. */
  readonly totalSize?: number;
  /** ffmpeg's speed as printed, e.g. "2.5x". */
  readonly speed?: string;
  readonly end: boolean;
}

/** Longest line kept: the report's lines are short; anything longer is not a report line. */
const MAX_LINE = 256;

/**
 * Incremental parser: feed it the pipe's bytes, get a snapshot per completed block. Bounded:
 * a partial line longer than MAX_LINE is dropped, and only the keys below are kept.
 */
export class ProgressParser {
  private partial = '';
  private overlong = false;
  private block: { frame?: number; outSeconds?: number; totalSize?: number; speed?: string } = {};

  push(chunk: string): ProgressSnapshot[] {
    const out: ProgressSnapshot[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, nl < 0 ? chunk.length : nl);
      if (!this.overlong) this.partial += piece;
      if (this.partial.length > MAX_LINE) {
        this.partial = '';
        this.overlong = true;
      }
      if (nl < 0) break;
      if (!this.overlong) {
        const snap = this.line(this.partial.trim());
        if (snap) out.push(snap);
      }
      this.partial = '';
      this.overlong = false;
      start = nl + 1;
    }
    return out;
  }

  private line(l: string): ProgressSnapshot | undefined {
    const eq = l.indexOf('=');
    if (eq <= 0) return undefined;
    const key = l.slice(0, eq);
    const value = l.slice(eq + 1).trim();
    const num = (): number | undefined => (/^\d{1,18}$/.test(value) ? Number(value) : undefined);
    switch (key) {
      case 'frame':
        this.block.frame = num();
        return undefined;
      case 'out_time_us': {
        const us = num();
        this.block.outSeconds = us === undefined ? undefined : us / 1e6;
        return undefined;
      }
      case 'total_size':
        this.block.totalSize = num();
        return undefined;
      case 'speed':
        this.block.speed = /^\s*[\d.]{1,12}x$/.test(value) ? value.trim() : undefined;
        return undefined;
      case 'progress': {
        const b = this.block;
        this.block = {};
        return {
          ...(b.frame !== undefined ? { frame: b.frame } : {}),
          ...(b.outSeconds !== undefined ? { outSeconds: b.outSeconds } : {}),
          ...(b.totalSize !== undefined ? { totalSize: b.totalSize } : {}),
          ...(b.speed !== undefined ? { speed: b.speed } : {}),
          end: value === 'end',
        };
      }
      default:
        return undefined;
    }
  }
}

/**
 * Frames an encoder may hold back before its first packet (x264's rc-lookahead, libaom's
 * lag-in-frames, B-frames), on top of frameRate × (out_time + FRAME_SLACK_SECONDS).
 */
export const FRAME_SLACK_FRAMES = 300;
export const FRAME_SLACK_SECONDS = 2;

/** Pure: the frames an output may have written by `outSeconds` of output time. */
export function framesAllowed(outSeconds: number, maxFrameRate: number): number {
  return Math.ceil((outSeconds + FRAME_SLACK_SECONDS) * maxFrameRate) + FRAME_SLACK_FRAMES;
}

/** Pure: does this report show the output past its budget? The first bound broken, if any. */
export function judgeProgress(p: ProgressSnapshot, b: OutputBudget): Breach | undefined {
  if (p.outSeconds !== undefined && p.outSeconds > b.seconds.limit) {
    const limit = Math.round(b.seconds.limit * 1000) / 1000;
    return { rule: b.seconds.rule, actual: Math.round(p.outSeconds * 1000) / 1000, limit, message: `the output reached ${p.outSeconds.toFixed(2)} s, longer than its budget of ${limit} s (${b.seconds.basis})` };
  }
  if (p.frame !== undefined) {
    const allowed = framesAllowed(p.outSeconds ?? 0, b.frameRate.limit);
    if (p.frame > allowed) {
      return {
        rule: b.frameRate.rule,
        actual: `${p.frame} frames by ${(p.outSeconds ?? 0).toFixed(2)} s of output`,
        limit: `${allowed} frames (${b.frameRate.limit} frames/s × (output time + ${FRAME_SLACK_SECONDS} s) + ${FRAME_SLACK_FRAMES})`,
        message: `the output had ${p.frame} frames by ${(p.outSeconds ?? 0).toFixed(2)} s of output time, more than ${b.frameRate.basis} allows`,
      };
    }
  }
  if (p.totalSize !== undefined && p.totalSize > b.bytes.limit) {
    return { rule: b.bytes.rule, actual: p.totalSize, limit: b.bytes.limit, message: `the output reached ${p.totalSize} bytes, over its budget of ${b.bytes.limit} bytes (${b.bytes.basis})` };
  }
  return undefined;
}
