/**
 * What one job may cost and produce, derived from its input: CPU and wall seconds per second
 * of media (policy.budget, with a floor for short and still inputs and limits.* as the absolute
 * caps above), and an output no longer, faster, larger or bigger than the input and the
 * policy's `output` section allow. Pure: the numbers, the rule each one is enforced under, and
 * the words that explain how it was derived, so that a breach names its rule, the actual value
 * and the limit.
 *
 * Where each bound is enforced: the monitor (CPU, wall, progress), the supervisor (stderr
 * flood, the file-size limit of the run), the firewall before the run (the arguments it can
 * read) and the verification after it (every job, raw arguments included).
 */
import type { ProbeResult } from '../inspect/probe-result.js';
import type { Policy } from '../policy/types.js';
import type { RuleId } from '../rule-id.js';
import type { Bound, OutputBudget, RunBudget } from '../monitor/budget.js';

export type { Bound, OutputBudget, RunBudget };

const MiB = 1024 * 1024;

/**
 * The input's media duration as far as ffprobe could tell (the container's, else its longest
 * stream), capped by input.maxDurationSeconds; 0 when it cannot tell (a still image): the
 * budget of such an input is the floor, and its output may last only the tolerance.
 */
export function mediaSecondsOf(policy: Policy, probe: ProbeResult): number {
  const streams = probe.streams.map((s) => s.duration ?? 0);
  const d = probe.duration ?? Math.max(0, ...streams);
  return Number.isFinite(d) && d > 0 ? Math.min(d, policy.input.maxDurationSeconds) : 0;
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** Pure: min(cap, max(floor, rate × media)), named by the cap's rule when the cap binds. */
function perMediaSecond(p: { rate: number; floor: number; cap: number; media: number; rule: RuleId; capRule: RuleId; unit: string }): Bound {
  const derived = Math.max(p.floor, p.rate * p.media);
  const capped = derived >= p.cap;
  const limit = Math.min(p.cap, derived);
  const basis = `${fmt(p.rate)} ${p.unit} per media-second × ${p.media.toFixed(1)} s of media, at least ${fmt(p.floor)} ${p.unit}, at most ${fmt(p.cap)} ${p.unit}`;
  return { limit, rule: capped ? p.capRule : p.rule, basis };
}

export function runBudget(policy: Policy, probe: ProbeResult): RunBudget {
  const b = policy.budget;
  const media = mediaSecondsOf(policy, probe);
  const cpu = perMediaSecond({ rate: b.cpuSecondsPerMediaSecond, floor: b.minCpuSeconds, cap: policy.limits.cpuSeconds, media, rule: 'budget.cpuSecondsPerMediaSecond', capRule: 'limits.cpuSeconds', unit: 's' });
  const wall = perMediaSecond({ rate: b.wallSecondsPerMediaSecond, floor: b.minWallSeconds, cap: policy.limits.wallSeconds, media, rule: 'budget.wallSecondsPerMediaSecond', capRule: 'limits.wallSeconds', unit: 's' });
  return {
    mediaSeconds: media,
    cpuMs: { ...cpu, limit: Math.round(cpu.limit * 1000) },
    wallMs: { ...wall, limit: Math.round(wall.limit * 1000) },
    stderrBytes: { limit: Math.round(b.maxStderrMiB * MiB), rule: 'budget.maxStderrMiB', basis: `budget.maxStderrMiB ${fmt(b.maxStderrMiB)} MiB` },
  };
}

/**
 * The output's bounds. `durationFactor` is the vetted target's declared factor (raw arguments
 * never declare one: 1).
 */
export function outputBudget(policy: Policy, probe: ProbeResult, inputBytes: number, durationFactor: number): OutputBudget {
  const o = policy.output;
  const media = mediaSecondsOf(policy, probe);
  const seconds = media * durationFactor + o.durationToleranceSeconds;
  const factorNote = durationFactor === 1 ? '' : ` × the target's durationFactor ${fmt(durationFactor)}`;
  const cap = policy.limits.outputMaxMiB * MiB;
  const derived = Math.max(o.minSizeMiB * MiB, o.maxSizeFactor * inputBytes);
  return {
    seconds: { limit: seconds, rule: 'output.maxDuration', basis: `the input's ${media.toFixed(2)} s${factorNote} + output.durationToleranceSeconds ${fmt(o.durationToleranceSeconds)} s` },
    frameRate: { limit: o.maxFrameRate, rule: 'output.maxFrameRate', basis: `output.maxFrameRate ${fmt(o.maxFrameRate)}` },
    width: { limit: o.maxWidth, rule: 'output.maxWidth', basis: `output.maxWidth ${o.maxWidth}` },
    height: { limit: o.maxHeight, rule: 'output.maxHeight', basis: `output.maxHeight ${o.maxHeight}` },
    pixels: { limit: o.maxPixels, rule: 'output.maxPixels', basis: `output.maxPixels ${o.maxPixels}` },
    bytes: {
      limit: Math.floor(Math.min(cap, derived)),
      rule: derived >= cap ? 'limits.outputMaxMiB' : 'output.maxBytes',
      basis: `output.maxSizeFactor ${fmt(o.maxSizeFactor)} × the input's ${inputBytes} bytes, at least output.minSizeMiB ${fmt(o.minSizeMiB)} MiB, at most limits.outputMaxMiB ${policy.limits.outputMaxMiB} MiB`,
    },
  };
}
