/**
 * An input whose container states no duration (a live recording: Matroska or WebM written with
 * unknown sizes, as browsers' MediaRecorder and streaming muxers write them) would leave every
 * budget that is per second of media at its floor and the output's duration bound at the
 * tolerance: an honest two-minute recording could not be transcoded. Its duration is measured
 * instead, by a demux-only pass in the sandbox (src/plan/job-plan.ts planDurationScan: packets
 * stream-copied to the null muxer, nothing decoded), and then judged like a stated one
 * (input.maxDurationSeconds). A pass that fails leaves the duration unknown: the floors apply.
 */
import { sandboxedInput, sandboxSite } from '../../inspect/inspect-input.js';
import type { InspectReport } from '../../inspect/inspect-input.js';
import type { ProbeResult } from '../../inspect/probe-result.js';
import type { Violation } from '../../errors.js';
import { ProgressParser } from '../../monitor/progress.js';
import type { HardeningPlan } from '../../plan/hardening/plan.js';
import { inputPins, planDurationScan } from '../../plan/job-plan.js';
import type { JobTools } from '../../posture/tools.js';
import type { Policy } from '../../policy/types.js';
import { supervise } from '../../sandbox/supervise.js';

/** Pure: the media seconds ffmpeg's final progress report covers, if it states any. */
export function measuredSeconds(progress: string): number | undefined {
  let last: number | undefined;
  for (const p of new ProgressParser().push(progress.endsWith('\n') ? progress : `${progress}\n`)) {
    if (p.outSeconds !== undefined && Number.isFinite(p.outSeconds) && p.outSeconds > 0) last = p.outSeconds;
  }
  return last;
}

export interface MeasuredProbe {
  readonly probe: ProbeResult;
  /** Set when the duration was measured from the packets (the container stated none). */
  readonly measured?: number;
  readonly violations: Violation[];
}

export async function measureDurationIfUnknown(policy: Policy, tools: JobTools, report: InspectReport<HardeningPlan>, probe: ProbeResult): Promise<MeasuredProbe> {
  const av = probe.streams.some((s) => s.codecType === 'video' || s.codecType === 'audio');
  if (probe.duration !== undefined || !av) return { probe, violations: [] };
  const site = sandboxSite(tools, 'ffmpeg', tools.ffmpeg);
  const input = sandboxedInput(report);
  const pins = inputPins(policy, site, input, probe, report.decodeHardening, report.streamUse?.used);
  const r = await supervise(planDurationScan(policy, site, input, pins));
  if (r.interrupted || r.killedFor || r.exitCode !== 0) return { probe, violations: [] };
  const seconds = measuredSeconds(r.stdout);
  if (seconds === undefined) return { probe, violations: [] };
  const violations: Violation[] = seconds > policy.input.maxDurationSeconds
    ? [{ rule: 'input.maxDurationSeconds', actual: seconds, limit: policy.input.maxDurationSeconds, message: `the file holds ${seconds.toFixed(1)} s of media (measured from its packets: the container states no duration), over the limit of ${policy.input.maxDurationSeconds} s`, hint: 'cut the recording into shorter parts, or use a policy that allows longer inputs' }]
    : [];
  return { probe: { ...probe, duration: seconds }, measured: seconds, violations };
}
