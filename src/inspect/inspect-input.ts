/**
 * Inspect one input before anything decodes it for real: regular file and size, magic bytes
 * against the allow-list and the extension, the container's own framing (truncation, trailing
 * data, header-declared dimensions), playlist markers smuggled anywhere in the bytes, then
 * ffprobe inside the sandbox (hardened with every option this build has), its JSON checked
 * against the policy. The sha256 and the marker scan are one streaming pass that runs while the
 * probe runs. Every violation is collected. The command lines it runs come from the planner
 * its caller hands in (planner.ts): inspect runs and judges, plan decides the arguments.
 */
import type { Violation } from '../errors.js';
import { ZtError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { permits } from '../sandbox/identity.js';
import { openInput, reachableBy, stagePrivateCopy, digestInput, identityOf, type OpenedInput, type ContentDigest, type FileIdentity } from './file.js';
import { detectMagic, checkMagic, type MagicResult } from './magic.js';
import { parseProbeJson, ProbeParseError, summarizeProbe, type ProbeResult } from './probe-result.js';
import { checkProbe, checkDeclaredDimensions, checkStructure, checkEmbedded, type IgnoredStream } from './rules.js';
import { selectedByAny } from '../media/stream-selection.js';
import { walkStructure, type StructureReport } from './structure.js';
import { detectCapabilities } from '../posture/capabilities/detect.js';
import { decoderStreamType, type Capabilities } from '../posture/capabilities/listing.js';
import type { InjectedHardening, InspectPlanner, SandboxedInput, SandboxSite } from './planner.js';
import { supervise, type LoaderStart, type SandboxTools, type SupervisedRun } from '../sandbox/supervise.js';
import { firstLine } from '../util/text.js';
import { classifyDiagnostics } from './probe-diagnostics.js';
import { monotonicMs } from '../util/clock.js';
import { allSettledOrThrow } from '../util/settle.js';

export interface InspectTools {
  readonly sandbox: SandboxTools;
  readonly ffprobe: string;
  readonly ffmpeg: string;
  /** Descriptors of the binaries as posture checked them (bound into the sandbox). */
  readonly ffprobeFd?: number;
  readonly ffmpegFd?: number;
  /** How ffprobe is started in the sandbox, where a load order was proven (posture/loader/order.ts). */
  readonly ffprobeLoader?: LoaderStart;
  readonly seccompProgram: Buffer | undefined;
  /** Posture facts of the binaries; ffmpeg's presence means it was checked and will decode. */
  readonly binaries?: Partial<Record<string, { readonly sha256: string } | undefined>>;
  /** Where the per-binary option listing is cached (statePaths().stateDir). */
  readonly stateDir?: string;
}

/** `H` is the planner's hardening (see planner.ts); the job's plan reads it back from the report. */
export interface InspectReport<H extends InjectedHardening = InjectedHardening> {
  readonly input: OpenedInput;
  readonly identity: FileIdentity;
  readonly digest: ContentDigest | undefined;
  readonly magic: MagicResult;
  readonly structure: StructureReport | undefined;
  readonly probe: ProbeResult | undefined;
  readonly violations: Violation[];
  readonly warnings: Violation[];
  readonly timings: Record<string, number>;
  /** Name of the input inside the sandbox (fixed, so no pattern or path tricks reach ffmpeg). */
  readonly sandboxName: string;
  /** Hardening injected into the probe. */
  readonly probeHardening: H | undefined;
  /** Hardening for decoding (deep check and the job); set when ffmpeg will run. Pass to buildFfmpegArgv. */
  readonly decodeHardening: H | undefined;
  /** The streams the planned job reads, and those it ignores; undefined when no job was named (all are read). */
  readonly streamUse: StreamUse | undefined;
}

export interface StreamUse {
  /** Indexes of the streams the job maps and decodes. */
  readonly used: ReadonlySet<number>;
  /** Streams the job never maps or decodes, left out of the codec rules (input.unusedStreams: ignore). */
  readonly ignored: readonly IgnoredStream[];
}

export interface InspectOptions {
  readonly digestNow: boolean;
  /**
   * The output arguments of the job (one list per possible target): the streams they map are
   * the streams judged as read. Absent: every stream counts as read.
   */
  readonly outputArgs?: ReadonlyArray<readonly string[]>;
  /**
   * Called once ffprobe has been started: work that does not depend on what the inspection
   * finds can start then, beside the probe, instead of delaying its start.
   */
  readonly onProbeStarted?: () => void;
}

export function sandboxInputName(extension: string): string {
  const safe = /^[a-z0-9]{1,8}$/.test(extension) ? extension : 'bin';
  return `input.${safe}`;
}

/** The input as the sandbox binds it: the descriptor that was hashed, under its fixed name. */
export function sandboxedInput(r: { sandboxName: string; input: OpenedInput }): SandboxedInput {
  return { fd: r.input.handle.fd, name: r.sandboxName };
}

function siteOf(tools: InspectTools, binary: string): SandboxSite {
  const name = binary === tools.ffprobe ? 'ffprobe' : binary === tools.ffmpeg ? 'ffmpeg' : undefined;
  return sandboxSite(tools, name, binary);
}

/** Where `binary` (posture's ffprobe or ffmpeg, by `name`) runs: the sandbox, its checked descriptor and (ffprobe) its load order. */
export function sandboxSite(tools: Pick<InspectTools, 'sandbox' | 'seccompProgram' | 'ffprobeFd' | 'ffmpegFd' | 'ffprobeLoader'>, name: 'ffprobe' | 'ffmpeg' | undefined, binary: string): SandboxSite {
  const fd = name === 'ffprobe' ? tools.ffprobeFd : name === 'ffmpeg' ? tools.ffmpegFd : undefined;
  const loader = name === 'ffprobe' && fd !== undefined ? tools.ffprobeLoader : undefined;
  return { sandbox: tools.sandbox, seccompProgram: tools.seccompProgram, binary, ...(fd !== undefined ? { binaryFd: fd } : {}), ...(loader ? { loader } : {}) };
}

const HEAD_SNIFF = 64 * 1024;

/** The build's capabilities, with the policy's required options checked (exit 7 when one is missing). */
async function capabilitiesOf<H extends InjectedHardening>(binary: string, policy: Policy, tools: InspectTools, planner: InspectPlanner<H>, name: 'ffprobe' | 'ffmpeg'): Promise<Capabilities> {
  const sha256 = tools.binaries?.[name]?.sha256;
  const caps = await detectCapabilities(binary, { ...(tools.stateDir ? { stateDir: tools.stateDir } : {}), ...(sha256 ? { sha256 } : {}), ...(tools.sandbox.runAs ? { runAs: tools.sandbox.runAs } : {}) });
  const refusal = planner.hardeningRefusal(policy, caps, binary);
  if (refusal) throw refusal;
  return caps;
}

function allPolicyCodecs(policy: Policy): string[] {
  const c = policy.input.codecs;
  return [...c.video, ...c.audio, ...c.subtitle];
}

/** `planner` builds the command lines this runs (src/plan/job-plan.ts in the job). */
export async function inspectInput<H extends InjectedHardening>(file: string, policy: Policy, tools: InspectTools, planner: InspectPlanner<H>, opts: InspectOptions): Promise<InspectReport<H>> {
  const timings: Record<string, number> = {};
  let t = monotonicMs();
  // ffprobe's capabilities do not depend on the input: read them while the file is opened and
  // sniffed. Awaited only once the magic bytes pass, so a refusal keeps its order.
  const probeCapsP = capabilitiesOf(tools.ffprobe, policy, tools, planner, 'ffprobe');
  probeCapsP.catch(() => undefined);
  const opened = await openInput(file, policy.input.maxBytes);
  const runAs = tools.sandbox.runAs;
  // The sandbox runs as its own uid: an input it cannot reach is handed to it as a private copy.
  const reachable = runAs === undefined || (await reachableBy(opened.handle, runAs, (st) => permits(st, runAs, 4), (st) => permits(st, runAs, 1)));
  const input = reachable ? opened : await stagePrivateCopy(opened).catch(async (e: unknown) => {
    await opened.close();
    throw e;
  });
  try {
    const head = Buffer.alloc(Math.min(HEAD_SNIFF, input.stat.size));
    await input.handle.read(head, 0, head.length, 0);
    const magic = await detectMagic(head);
    const mc = checkMagic(magic, input.extension, policy.input);
    timings['magic'] = monotonicMs() - t;
    const sandboxName = sandboxInputName(input.extension);
    const base = { input, identity: identityOf(input.stat), magic, sandboxName, timings };
    if (mc.violations.length > 0) {
      // Refused on the bytes alone: no parser ever sees this file.
      const digest = opts.digestNow ? await digestInput(input.handle, input.stat.size) : undefined;
      return { ...base, digest, structure: undefined, probe: undefined, violations: mc.violations, warnings: mc.warnings, probeHardening: undefined, decodeHardening: undefined, streamUse: undefined };
    }
    t = monotonicMs();
    const probeCaps = await probeCapsP;
    timings['hardening'] = monotonicMs() - t;
    const { run: probeRun, hardening: probeHardening } = planner.probe(policy, probeCaps, siteOf(tools, tools.ffprobe), sandboxedInput({ sandboxName, input }));
    t = monotonicMs();
    const readAt = async (buf: Buffer, position: number): Promise<number> => (await input.handle.read(buf, 0, buf.length, position)).bytesRead;
    const started = opts.onProbeStarted;
    const watched: SupervisedRun = started === undefined ? probeRun : {
      ...probeRun,
      onTree: (tree) => {
        probeRun.onTree?.(tree);
        started();
      },
    };
    // All three read the input's descriptor, which the catch below closes: wait for every one.
    const [probeOutcome, digest, structure] = await allSettledOrThrow<[ProbeOutcome, Awaited<ReturnType<typeof digestInput>>, Awaited<ReturnType<typeof walkStructure>>]>([
      runProbe(watched, policy, probeCaps),
      digestInput(input.handle, input.stat.size).then((d) => {
        timings['hash'] = monotonicMs() - t;
        return d;
      }),
      walkStructure(readAt, input.stat.size, magic.type),
    ]);
    timings['probe'] = monotonicMs() - t;
    const violations = [...probeOutcome.violations];
    const warnings = [...mc.warnings, ...probeOutcome.warnings];
    const sc = checkStructure(structure, policy.input);
    const ec = checkEmbedded(digest.markers, policy.input);
    violations.push(...checkDeclaredDimensions(structure.declared, policy.input), ...sc.violations, ...ec.violations);
    warnings.push(...sc.warnings, ...ec.warnings);
    let decodeHardening: H | undefined;
    let streamUse: StreamUse | undefined;
    if (probeOutcome.probe) {
      const used = opts.outputArgs ? selectedByAny(opts.outputArgs, probeOutcome.probe.streams) : undefined;
      const pc = checkProbe(probeOutcome.probe, policy.input, magic.type, used);
      violations.push(...pc.violations);
      warnings.push(...pc.warnings);
      if (used) streamUse = { used, ignored: pc.ignored };
      // Only a job that may still go ahead needs ffmpeg's own hardening (enforce refuses now).
      const mayProceed = violations.length === 0 || policy.mode !== 'enforce';
      if (tools.binaries?.['ffmpeg'] !== undefined && mayProceed) {
        decodeHardening = await planDecodeHardening(probeOutcome.probe, policy, tools, planner, used);
      }
    }
    return { ...base, digest, structure, probe: probeOutcome.probe, violations: dedupeRules(violations), warnings, probeHardening, decodeHardening, streamUse };
  } catch (e) {
    await input.close();
    throw e;
  }
}

/** The hardening for ffmpeg decoding this probed file: demuxer pinned, its decoders only. */
async function planDecodeHardening<H extends InjectedHardening>(probe: ProbeResult, policy: Policy, tools: InspectTools, planner: InspectPlanner<H>, used: ReadonlySet<number> | undefined): Promise<H> {
  const caps = await capabilitiesOf(tools.ffmpeg, policy, tools, planner, 'ffmpeg');
  return planner.decodeHardening(policy, caps, probe, used);
}

/** The same rule and actual value reported twice (by the header walk and by ffprobe) is shown once. */
function dedupeRules(v: Violation[]): Violation[] {
  const seen = new Set<string>();
  return v.filter((x) => {
    const k = `${x.rule}|${JSON.stringify(x.actual)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface ProbeOutcome {
  readonly probe?: ProbeResult;
  readonly violations: Violation[];
  readonly warnings: Violation[];
}

async function runProbe(run: SupervisedRun, policy: Policy, caps: Capabilities): Promise<ProbeOutcome> {
  const r = await supervise(run);
  if (r.sandboxFailed || r.spawnFailed) {
    throw new ZtError('sandbox-unavailable', `the sandbox could not start ffprobe: ${firstLine(r.stderr) || 'spawn failed'}`, {
      hint: 'run `zt-ffmpeg doctor`; bubblewrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)',
    });
  }
  return classifyProbe(r, policy, caps);
}

/** Pure: what a finished probe means. A crash, a kill, an error exit or bad JSON is a refusal, never a pass. */
export function classifyProbe(
  r: { exitCode: number | undefined; signal: string | undefined; stdout: string; stderr: string; killedFor?: { actual: unknown; limit: unknown; message: string }; limit?: { message: string } },
  policy: Policy,
  caps: Capabilities | undefined,
): ProbeOutcome {
  if (r.killedFor) {
    return { violations: [{ rule: 'input.probe.timeout', actual: r.killedFor.actual, limit: r.killedFor.limit, message: `ffprobe was killed: ${r.killedFor.message}`, hint: 'the file takes too long to parse; it is refused' }], warnings: [] };
  }
  // Limits the hardening options enforced inside the parser: report them under the policy's rule.
  const enforced: Violation[] = [];
  if (/Number of streams exceeds max_streams/.test(r.stderr)) {
    enforced.push({ rule: 'input.maxStreams', actual: `> ${policy.input.maxStreams}`, limit: policy.input.maxStreams, message: `the file has more than ${policy.input.maxStreams} streams (the demuxer stopped at the limit)`, hint: 'use a policy that allows more streams, or remove streams first' });
  }
  // A decoder the probe withheld is judged by the codec rules on the probe's streams (which know
  // whether the job reads that stream); only a probe that failed outright reports it from here.
  const seenDecoders = new Set<string>();
  for (const m of r.exitCode === 0 ? [] : r.stderr.matchAll(/Codec \(([A-Za-z0-9_-]+)\) not on whitelist/g)) {
    const dec = m[1] ?? 'unknown';
    if (seenDecoders.has(dec)) continue;
    seenDecoders.add(dec);
    const kind = decoderStreamType(dec, caps);
    enforced.push({
      rule: kind ? `input.codecs.${kind}` : 'input.codecs',
      actual: caps?.decoders[dec]?.codec ?? dec,
      limit: kind ? policy.input.codecs[kind] : allPolicyCodecs(policy),
      message: `a ${kind ?? 'media'} stream needs the decoder "${dec}", which the policy does not allow`,
      hint: 'use a policy that allows the codec, or convert the file first',
    });
  }
  if (/max_pixels|Picture size \d+x\d+ is invalid/.test(r.stderr)) {
    const m = /Picture size (\d+)x(\d+)/.exec(r.stderr);
    enforced.push({ rule: 'input.maxPixels', actual: m ? Number(m[1]) * Number(m[2]) : 'over the limit', limit: policy.input.maxPixels, message: `a decoder refused the picture size${m ? ` ${m[1]} x ${m[2]}` : ''}`, hint: 'a decompression bomb or a broken header: the file is refused' });
  }
  if (r.exitCode !== 0) {
    if (enforced.length > 0) return { violations: enforced, warnings: [] };
    const lim = r.limit;
    const why = lim ? lim.message : firstLine(r.stderr) || `exit ${r.exitCode ?? r.signal}`;
    return {
      violations: [{
        rule: lim ? 'input.probe.limit' : 'input.probe',
        actual: why,
        limit: 'ffprobe must parse the file cleanly within the policy formats',
        message: `ffprobe could not parse the file: ${why}`,
        hint: /not on whitelist/.test(r.stderr) ? 'the container format is not one the policy allows' : 'the file is malformed, truncated or not what it claims to be',
      }],
      warnings: [],
    };
  }
  let probe: ProbeResult;
  try {
    probe = parseProbeJson(r.stdout);
  } catch (e) {
    const msg = e instanceof ProbeParseError ? e.message : 'unreadable probe output';
    return { violations: [{ rule: 'input.probe.json', actual: msg, limit: 'valid ffprobe JSON', message: msg, hint: 'the file is refused' }], warnings: [] };
  }
  // ffprobe can succeed while its parsers complain; at the strict stages a complaint refuses.
  // A damaged tag the demuxer skipped is recorded, never refused (probe-diagnostics.ts).
  const { errors, metadata } = classifyDiagnostics(r.stderr);
  const damagedTags: Violation[] = metadata.length === 0 ? [] : [{
    rule: 'input.probe.metadata',
    actual: metadata.slice(0, 3).join(' | ').slice(0, 500),
    limit: 'tags the demuxer can read',
    message: `a metadata tag is damaged and was skipped (${metadata[0]?.slice(0, 120)}); the media streams are not affected and no tag is copied to the output`,
    hint: 'nothing to do; re-tag the file to keep its metadata',
  }];
  const complaints: Violation[] = errors.length === 0 ? [] : [{
    rule: 'input.probe.errors',
    actual: errors.slice(0, 3).join(' | ').slice(0, 500),
    limit: 'no parser errors',
    message: `ffprobe reported ${errors.length} error${errors.length === 1 ? '' : 's'} while parsing: ${errors[0]?.slice(0, 200)}`,
    hint: 'the file is damaged or crafted; it is refused',
  }];
  const strict = policy.input.requireMagicMatchesFormat;
  return { probe, violations: [...enforced, ...(strict ? complaints : [])], warnings: [...damagedTags, ...(strict ? [] : complaints)] };
}


/** Decode every stream to null in the sandbox under the job's limits (the deep check). */
export async function deepCheck<H extends InjectedHardening>(report: InspectReport<H>, policy: Policy, tools: InspectTools, planner: InspectPlanner<H>): Promise<Violation[]> {
  if (!report.probe) return [];
  const used = report.streamUse?.used;
  const hardening = report.decodeHardening ?? (await planDecodeHardening(report.probe, policy, tools, planner, used));
  const r = await supervise(planner.deepCheck(policy, siteOf(tools, tools.ffmpeg), sandboxedInput(report), report.probe, hardening, used));
  if (r.sandboxFailed || r.spawnFailed) throw new ZtError('sandbox-unavailable', `the sandbox could not start the deep check: ${firstLine(r.stderr)}`, { hint: 'run `zt-ffmpeg doctor`' });
  if (r.killedFor) return [{ rule: 'input.deepCheck', actual: r.killedFor.message, limit: r.killedFor.limit, message: `decoding the file breached ${r.killedFor.rule}: ${r.killedFor.message}`, hint: 'the file is a decoder bomb or too heavy for this policy' }];
  if (r.exitCode !== 0) {
    const lim = r.limit;
    return [{ rule: 'input.deepCheck', actual: lim?.message ?? firstLine(r.stderr), limit: 'every stream decodes cleanly', message: `decoding the file failed: ${lim?.message ?? firstLine(r.stderr)}`, hint: 'the file is corrupt or truncated' }];
  }
  return [];
}

export { summarizeProbe };

/**
 * What the inspection did beyond the verdict, for `check` (human and --json) and the audit
 * record: the container walk, smuggled markers, and the hardening injected into each parser.
 */
export function inspectionSummary(r: InspectReport): Record<string, unknown> {
  return {
    ...(r.structure ? { structure: { walker: r.structure.walker ?? 'none', complete: r.structure.complete, problems: r.structure.problems.length, ...(r.structure.declared ? { declared: r.structure.declared } : {}), ...(r.structure.tolerated ? { tolerated: r.structure.tolerated.map((t) => t.name) } : {}) } } : {}),
    ...(r.digest && r.digest.markers.length > 0 ? { embedded: r.digest.markers } : {}),
    ...(r.streamUse ? { streams: { used: [...r.streamUse.used].sort((a, b) => a - b), ignored: r.streamUse.ignored } } : {}),
    ...(r.probeHardening || r.decodeHardening
      ? {
          hardening: {
            ...(r.probeHardening ? { probe: r.probeHardening.applied } : {}),
            ...(r.decodeHardening ? { decode: r.decodeHardening.applied } : {}),
            absent: [...new Set([...(r.probeHardening?.absent ?? []), ...(r.decodeHardening?.absent ?? [])])],
          },
        }
      : {}),
  };
}
