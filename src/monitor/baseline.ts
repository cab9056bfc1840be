/**
 * The learned baseline: how much wall-clock and CPU time one second of media costs for a given
 * operation on this machine, taken from the result records of earlier successful jobs in the
 * audit log. A job far above it (policy.monitor.baselineFactor ×) is flagged as a `slow-job`
 * anomaly; with `onSlowJob: kill` a running job is killed once its wall time passes
 * factor × baseline × media duration.
 *
 * Only the tail of the log is read (BASELINE_TAIL_BYTES), never the whole log, so the cost is
 * bounded whatever the log's length. The records are not signature-checked here: the baseline
 * only sets an anomaly threshold, and `zt-ffmpeg audit verify` is what detects a tampered log.
 * Someone who can write the log could at worst raise the threshold (hiding slow jobs) or lower
 * it (getting jobs killed, which fails closed).
 */
import { open } from 'node:fs/promises';
import type { AnomalyAction } from '../policy/types.js';
import { asSuccessfulRun } from '../audit/job-records.js';

export const BASELINE_TAIL_BYTES = 256 * 1024;
/** The most recent matching records that make a baseline. */
export const BASELINE_MAX_RECORDS = 32;
/** Fewer matching records than this: no baseline (nothing is flagged). */
export const BASELINE_MIN_RECORDS = 3;
/**
 * A job's media duration is counted as at least this many seconds: ffmpeg's start-up costs the
 * same whatever the length, and would otherwise make every short clip look slow.
 */
export const MIN_MEDIA_SECONDS = 1;
/** A slow job is never killed before this much wall time (start-up, a busy machine). */
export const MIN_SLOW_KILL_MS = 2000;

/** Which jobs are comparable: the same operation producing the same kind of file. */
export interface BaselineKey {
  readonly operation: string;
  /** Output extension (the operation's target). */
  readonly target: string;
}

export function baselineKeyString(k: BaselineKey): string {
  return `${k.operation}.${k.target}`;
}

export interface Baseline {
  readonly key: string;
  /** How many records it was learned from. */
  readonly samples: number;
  readonly wallMsPerMediaSecond: number;
  readonly cpuMsPerMediaSecond: number;
}

export interface JobCost {
  readonly mediaSeconds: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Pure: the cost of one earlier job from its audit event, if it is a successful result record
 * of the given key (narrowed by the typed guard of src/audit/job-records.ts; a record without
 * `baselineKey` and `mediaSeconds` in its run does not count).
 */
export function costFromEvent(event: unknown, key: BaselineKey): JobCost | undefined {
  const run = asSuccessfulRun(event);
  if (!run || run.baselineKey !== baselineKeyString(key) || run.mediaSeconds <= 0) return undefined;
  return { mediaSeconds: run.mediaSeconds, wallMs: run.wallMs, cpuMs: run.cpuMs };
}

function envelopeEvent(parsed: unknown): unknown {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const payload = (parsed as { payload?: unknown }).payload;
  return typeof payload === 'object' && payload !== null ? (payload as { event?: unknown }).event : undefined;
}

/** Pure: the baseline from audit lines (oldest first); undefined when too few match. */
export function baselineFromLines(lines: Iterable<string>, key: BaselineKey, opts: { maxRecords?: number; minRecords?: number } = {}): Baseline | undefined {
  const max = opts.maxRecords ?? BASELINE_MAX_RECORDS;
  const min = opts.minRecords ?? BASELINE_MIN_RECORDS;
  const costs: JobCost[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a partial first line of the tail, or garbage: not evidence either way
    }
    const c = costFromEvent(envelopeEvent(parsed), key);
    if (c) costs.push(c);
  }
  const recent = costs.slice(-max);
  if (recent.length < min) return undefined;
  const per = (f: (c: JobCost) => number): number => median(recent.map((c) => f(c) / Math.max(c.mediaSeconds, MIN_MEDIA_SECONDS)));
  return {
    key: baselineKeyString(key),
    samples: recent.length,
    wallMsPerMediaSecond: per((c) => c.wallMs),
    cpuMsPerMediaSecond: per((c) => c.cpuMs),
  };
}

/** Read the last `tailBytes` of the audit log and learn the baseline for `key`. Missing log: none. */
export async function readBaseline(logPath: string, key: BaselineKey, opts: { tailBytes?: number; maxRecords?: number; minRecords?: number } = {}): Promise<Baseline | undefined> {
  const tail = opts.tailBytes ?? BASELINE_TAIL_BYTES;
  let fh;
  try {
    fh = await open(logPath, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - tail);
    const len = size - start;
    if (len <= 0) return undefined;
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(buf, 0, len, start);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    // Drop the partial first line when the tail starts mid-record.
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return baselineFromLines(text.split('\n'), key, opts);
  } finally {
    await fh.close();
  }
}

/** What the monitor watches for while a job runs, from the baseline and the media duration. */
export interface SlowJobWatch {
  readonly baseline: Baseline;
  readonly mediaSeconds: number;
  readonly factor: number;
  readonly action: AnomalyAction;
}

/** Pure: the wall time past which a running job is a slow job (never below MIN_SLOW_KILL_MS). */
export function slowJobDeadlineMs(w: SlowJobWatch): number {
  return Math.max(MIN_SLOW_KILL_MS, Math.ceil(w.factor * w.baseline.wallMsPerMediaSecond * Math.max(w.mediaSeconds, MIN_MEDIA_SECONDS)));
}

/** Pure: after the job, is its wall or CPU time per media-second far above the baseline? */
export function judgeFinishedJob(w: SlowJobWatch, cost: { wallMs: number; cpuMs: number }): { message: string; evidence: string } | undefined {
  const secs = Math.max(w.mediaSeconds, MIN_MEDIA_SECONDS);
  const wallPer = cost.wallMs / secs;
  const cpuPer = cost.cpuMs / secs;
  const b = w.baseline;
  const over: string[] = [];
  if (wallPer > Math.max(w.factor * b.wallMsPerMediaSecond, MIN_SLOW_KILL_MS / secs)) {
    over.push(`wall ${Math.round(wallPer)} ms per media-second (baseline ${Math.round(b.wallMsPerMediaSecond)})`);
  }
  if (cpuPer > Math.max(w.factor * b.cpuMsPerMediaSecond, MIN_SLOW_KILL_MS / secs)) {
    over.push(`CPU ${Math.round(cpuPer)} ms per media-second (baseline ${Math.round(b.cpuMsPerMediaSecond)})`);
  }
  if (over.length === 0) return undefined;
  return {
    message: `the job took more than ${w.factor}× the baseline of ${b.key} (learned from ${b.samples} earlier jobs): ${over.join(', ')}`,
    evidence: over.join('; '),
  };
}
