/**
 * Re-validate the output before it is published: its container's own tables (src/verify/facts),
 * or a sandboxed ffprobe where no reader states every fact (the output was written by a process
 * that parsed hostile bytes), must show the container and codecs the operation promises and a duration consistent with the input's, and every output (raw arguments
 * included) must be within its budget (checkOutputBudget); then it is hashed.
 */
import type { FileHandle } from 'node:fs/promises';
import { sha256OfFile } from '../util/hash.js';
import type { Violation } from '../errors.js';
import type { OperationTarget } from '../policy/types.js';
import { planOutputProbe } from '../plan/job-plan.js';
import { supervise, type LoaderStart, type SandboxTools } from '../sandbox/supervise.js';
import { parseProbeJson, type ProbeResult } from '../inspect/probe-result.js';
import { sandboxSite } from '../inspect/inspect-input.js';
import { demuxerNames } from '../media/formats.js';
import { readAtOf, readContainerFacts } from './facts/index.js';
import { detectCapabilities } from '../posture/capabilities/detect.js';
import type { OutputBudget } from '../monitor/budget.js';
import type { Bound } from '../monitor/budget.js';

export interface OutputCheck {
  readonly violations: Violation[];
  readonly probe: ProbeResult | undefined;
  readonly sha256: string;
  readonly size: number;
  readonly checkedBy: OutputCheckedBy;
}

/** Pure: compare what the output probe found with what the operation promised. */
export function checkOutputProbe(p: ProbeResult, target: OperationTarget | undefined, expectedDuration: number | undefined): Violation[] {
  const v: Violation[] = [];
  const names = demuxerNames(p.formatName);
  if (target && !names.some((n) => target.expect.formats.includes(n))) {
    v.push({ rule: 'output.format', actual: p.formatName, limit: target.expect.formats, message: `the output's container is "${p.formatName}"`, hint: 'the operation template is wrong for this output; report it' });
  }
  // An operation that promises only sound (or only pictures) publishes no stream of the other kind:
  // a cover picture in an MP3 or FLAC, or a sound track beside a thumbnail, was not promised.
  if (target) {
    for (const [kind, other] of [['video', target.expect.audio], ['audio', target.expect.video]] as const) {
      const promised = kind === 'video' ? target.expect.video : target.expect.audio;
      if (promised || !other) continue;
      for (const st of p.streams.filter((x) => x.codecType === kind)) {
        v.push({ rule: `output.codecs.${kind}`, actual: st.codecName ?? 'unknown', limit: `no ${kind} (the operation promises ${kind === 'video' ? 'sound' : 'pictures'} only)`, message: `the output carries a ${kind} stream (#${st.index} ${st.codecName ?? 'unknown'}) the operation does not promise` });
      }
    }
  }
  const kinds: Array<['video' | 'audio', readonly string[] | undefined]> = [['video', target?.expect.video], ['audio', target?.expect.audio]];
  for (const [kind, allowed] of kinds) {
    if (!allowed) continue;
    for (const s of p.streams.filter((x) => x.codecType === kind)) {
      if (!s.codecName || !allowed.includes(s.codecName)) {
        v.push({ rule: `output.codecs.${kind}`, actual: s.codecName ?? 'unknown', limit: allowed, message: `output ${kind} codec "${s.codecName ?? 'unknown'}" is not what the operation promises` });
      }
    }
  }
  if (p.streams.length === 0) v.push({ rule: 'output.streams', actual: 0, limit: '>= 1', message: 'the output has no streams' });
  // An output carries pictures and sound only: no attachments, data or subtitle streams rode along.
  const stray = p.streams.filter((s) => s.codecType !== 'video' && s.codecType !== 'audio');
  if (stray.length > 0) {
    v.push({ rule: 'output.streamType', actual: stray.map((s) => `#${s.index} ${s.codecType}`).join(', '), limit: ['video', 'audio'], message: `the output carries ${stray.length} stream(s) that are neither video nor audio`, hint: 'the output was not published; check the operation template' });
  }
  if (!target?.still && expectedDuration !== undefined && expectedDuration > 0) {
    const d = probedDuration(p);
    const tolerance = Math.max(1, expectedDuration * 0.05);
    if (!(Math.abs(d - expectedDuration) <= tolerance)) {
      v.push({ rule: 'output.duration', actual: d, limit: `${expectedDuration} ± ${tolerance.toFixed(2)} s`, message: `the output lasts ${d} s but the input ${expectedDuration} s`, hint: 'the input may be truncated or its header may lie about its duration' });
    }
  }
  return v;
}

/** The duration the probe found: the container's, else the longest stream's. */
function probedDuration(p: ProbeResult): number {
  return p.duration ?? Math.max(0, ...p.streams.map((s) => s.duration ?? 0));
}

function past(b: Bound, actual: number, what: string): Violation {
  return { rule: b.rule, actual, limit: b.limit, message: `the output's ${what} is ${actual}, over its budget of ${b.limit} (${b.basis})`, hint: 'the arguments make the output longer, faster or bigger than the input and the policy allow; it was not published' };
}

/**
 * Pure: the output against its budget (src/plan/budget.ts), for every job, raw arguments
 * included: duration, frame rate, picture size of every video stream, and file size.
 */
export function checkOutputBudget(p: ProbeResult, size: number, b: OutputBudget): Violation[] {
  const v: Violation[] = [];
  const d = probedDuration(p);
  if (d > b.seconds.limit) v.push(past(b.seconds, d, 'duration (s)'));
  for (const s of p.streams.filter((x) => x.codecType === 'video')) {
    if (s.frameRate !== undefined && s.frameRate > b.frameRate.limit) v.push(past(b.frameRate, Math.round(s.frameRate * 1000) / 1000, `stream #${s.index} frame rate`));
    if (s.width !== undefined && s.width > b.width.limit) v.push(past(b.width, s.width, `stream #${s.index} width`));
    if (s.height !== undefined && s.height > b.height.limit) v.push(past(b.height, s.height, `stream #${s.index} height`));
    if (s.width !== undefined && s.height !== undefined && s.width * s.height > b.pixels.limit) v.push(past(b.pixels, s.width * s.height, `stream #${s.index} width × height`));
  }
  if (size > b.bytes.limit) v.push(past(b.bytes, size, 'size (bytes)'));
  return v;
}

/** How the output's facts were established (recorded with the output). */
export type OutputCheckedBy =
  | { readonly by: 'container'; readonly reader: string }
  | { readonly by: 'sandboxed-probe'; readonly because: string };

type ProbeTools = { sandbox: SandboxTools; ffprobe: string; ffprobeFd?: number; ffprobeLoader?: LoaderStart; seccompProgram: Buffer | undefined; probeTimeoutSeconds: number; stateDir?: string; ffprobeSha256?: string };

/** The sandboxed ffprobe of the output: its parsed JSON, or the violation that it failed. */
async function sandboxedProbe(handle: FileHandle, target: OperationTarget | undefined, tools: ProbeTools): Promise<ProbeResult | Violation> {
  // Same cache key as the input's inspection, so the listing is read once per binary, not per probe.
  const caps = await detectCapabilities(tools.ffprobe, { ...(tools.stateDir ? { stateDir: tools.stateDir } : {}), ...(tools.ffprobeSha256 ? { sha256: tools.ffprobeSha256 } : {}), ...(tools.sandbox.runAs ? { runAs: tools.sandbox.runAs } : {}) }).catch(() => undefined);
  const site = sandboxSite(tools, 'ffprobe', tools.ffprobe);
  const r = await supervise(planOutputProbe(site, { fd: handle.fd, name: 'output' }, target, caps, tools.probeTimeoutSeconds));
  if (r.exitCode !== 0 || r.killedFor) {
    const why = (r.stderr.split('\n').find((l) => l.trim()) ?? r.killedFor?.message ?? `exit ${r.exitCode}`).trim();
    return { rule: 'output.probe', actual: why, limit: 'a well-formed output', message: `the output did not pass the sandboxed probe: ${why}` };
  }
  try {
    return parseProbeJson(r.stdout);
  } catch {
    return { rule: 'output.probe', actual: 'invalid JSON', limit: 'valid ffprobe JSON', message: 'the output probe printed invalid JSON' };
  }
}

/**
 * `handle` is the output as claimed from the job directory (src/verify/sandbox-output.ts): it is
 * hashed while its facts are read, and it is what gets published. The facts come from the
 * container itself where a reader states them all (src/verify/facts), else from a sandboxed
 * ffprobe.
 */
export async function verifyOutput(
  handle: FileHandle,
  target: OperationTarget | undefined,
  expectedDuration: number | undefined,
  tools: ProbeTools,
  budget?: OutputBudget,
): Promise<OutputCheck> {
  const st = await handle.stat();
  // A large output is hashed on a worker thread, beside its container's walk on this one.
  const hashP = sha256OfFile(handle, st.size).then((d) => d.sha256);
  // Awaited on every path, so a read error after a failure elsewhere is never an unhandled rejection.
  hashP.catch(() => undefined);
  let found: ProbeResult | Violation;
  let checkedBy: OutputCheckedBy;
  try {
    const facts = await readContainerFacts(readAtOf(handle), st.size);
    if (facts.kind === 'refused') {
      found = { rule: 'output.structure', actual: facts.problem, limit: `the ${facts.reader} container a muxer writes`, message: `the output's container is not what a muxer writes: ${facts.problem}`, hint: 'a compromised or misbehaving ffmpeg; the output was not published' };
      checkedBy = { by: 'container', reader: facts.reader };
    } else if (facts.kind === 'facts') {
      found = facts.probe;
      checkedBy = { by: 'container', reader: facts.reader };
    } else {
      found = await sandboxedProbe(handle, target, tools);
      checkedBy = { by: 'sandboxed-probe', because: facts.reason };
    }
  } catch (e) {
    await hashP.catch(() => undefined);
    throw e;
  }
  const sha256 = await hashP;
  if ('rule' in found) return { violations: [found], probe: undefined, sha256, size: st.size, checkedBy };
  return { violations: [...checkOutputProbe(found, target, expectedDuration), ...(budget ? checkOutputBudget(found, st.size, budget) : [])], probe: found, sha256, size: st.size, checkedBy };
}
