/**
 * Inspect one input before anything decodes it for real: regular file and size, magic bytes
 * against the allow-list and the extension, then ffprobe inside the sandbox, its JSON checked
 * against the policy. The sha256 is computed while the probe runs (one extra read pass, no
 * extra wall time). Every violation is collected.
 */
import type { Violation } from '../errors.js';
import { ZtError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { openInput, digestInput, identityOf, type OpenedInput, type ContentDigest, type FileIdentity } from './file.js';
import { detectMagic, checkMagic, type MagicResult } from './magic.js';
import { parseProbeJson, ProbeParseError, summarizeProbe, type ProbeResult } from './probe-result.js';
import { checkProbe } from './rules.js';
import { buildProbeArgv, buildDeepCheckArgv } from '../plan/ffmpeg-argv.js';
import { supervise, limitFromExit, type SandboxTools } from '../sandbox/supervise.js';
import { mib } from '../sandbox/prlimit.js';
import { demuxerNames } from './formats.js';
import { SANDBOX_INPUT_DIR } from '../sandbox/bwrap.js';

export interface InspectTools {
  readonly sandbox: SandboxTools;
  readonly ffprobe: string;
  readonly ffmpeg: string;
  readonly seccompFile: string | undefined;
}

export interface InspectReport {
  readonly input: OpenedInput;
  readonly identity: FileIdentity;
  readonly digest: ContentDigest | undefined;
  readonly magic: MagicResult;
  readonly probe: ProbeResult | undefined;
  readonly violations: Violation[];
  readonly warnings: Violation[];
  readonly timings: Record<string, number>;
  /** Name of the input inside the sandbox (fixed, so no pattern or path tricks reach ffmpeg). */
  readonly sandboxName: string;
}

export function sandboxInputName(extension: string): string {
  const safe = /^[a-z0-9]{1,8}$/.test(extension) ? extension : 'bin';
  return `input.${safe}`;
}

export function sandboxInputPath(r: { sandboxName: string; input: OpenedInput }, degraded: boolean): string {
  return degraded ? r.input.path : `${SANDBOX_INPUT_DIR}/${r.sandboxName}`;
}

const HEAD_SNIFF = 64 * 1024;

export async function inspectInput(file: string, policy: Policy, tools: InspectTools, opts: { digestNow: boolean }): Promise<InspectReport> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const input = await openInput(file, policy.input.maxBytes);
  try {
    const head = Buffer.alloc(Math.min(HEAD_SNIFF, input.stat.size));
    await input.handle.read(head, 0, head.length, 0);
    const magic = await detectMagic(head);
    const mc = checkMagic(magic, input.extension, policy.input);
    timings['magic'] = performance.now() - t;
    const sandboxName = sandboxInputName(input.extension);
    const base = { input, identity: identityOf(input.stat), magic, sandboxName, timings };
    if (mc.violations.length > 0) {
      // Refused on the bytes alone: no parser ever sees this file.
      return { ...base, digest: opts.digestNow ? await digestInput(input.handle, input.stat.size) : undefined, probe: undefined, violations: mc.violations, warnings: mc.warnings };
    }
    t = performance.now();
    const probeP = runProbe(input, sandboxName, policy, tools);
    const digestP = digestInput(input.handle, input.stat.size).then((d) => {
      timings['hash'] = performance.now() - t;
      return d;
    });
    const [probeOutcome, digest] = await Promise.all([probeP, digestP]);
    timings['probe'] = performance.now() - t;
    const violations = [...probeOutcome.violations];
    const warnings = [...mc.warnings];
    if (probeOutcome.probe) {
      const pc = checkProbe(probeOutcome.probe, policy.input, magic.type);
      violations.push(...pc.violations);
      warnings.push(...pc.warnings);
    }
    return { ...base, digest, probe: probeOutcome.probe, violations, warnings };
  } catch (e) {
    await input.handle.close();
    throw e;
  }
}

async function runProbe(input: OpenedInput, sandboxName: string, policy: Policy, tools: InspectTools): Promise<{ probe?: ProbeResult; violations: Violation[] }> {
  const p = policy.input.probe;
  const inputPath = tools.sandbox.degraded ? input.path : `${SANDBOX_INPUT_DIR}/${sandboxName}`;
  const argv = buildProbeArgv({ ffprobePath: tools.ffprobe, inputPath, formats: policy.input.formats, probesize: p.probesize, analyzeDurationUs: p.analyzeDurationUs });
  const r = await supervise({
    tools: tools.sandbox,
    command: argv,
    inputFd: input.handle.fd,
    inputName: sandboxName,
    ...(tools.seccompFile ? { seccompFile: tools.seccompFile } : {}),
    tmpfsBytes: mib(16),
    grants: { fonts: false, gpu: false },
    rlimits: { addressSpaceBytes: mib(p.addressSpaceMiB), cpuSeconds: p.timeoutSeconds, fileSizeBytes: mib(1), openFiles: 64 },
    wallMs: p.timeoutSeconds * 1000,
    maxOutputBytes: 16 * 1024 * 1024,
  });
  if (r.sandboxFailed || r.spawnFailed) {
    throw new ZtError('sandbox-unavailable', `the sandbox could not start ffprobe: ${firstLine(r.stderr) || 'spawn failed'}`, {
      hint: 'run `zt-ffmpeg doctor`; bubblewrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)',
    });
  }
  if (r.killedFor) {
    return { violations: [{ rule: 'input.probe.timeout', actual: r.killedFor.actual, limit: r.killedFor.limit, message: `ffprobe was killed: ${r.killedFor.message}`, hint: 'the file takes too long to parse; it is refused' }] };
  }
  if (r.exitCode !== 0) {
    const lim = limitFromExit(r.exitCode, r.signal, r.stderr);
    const why = lim ? lim.message : firstLine(r.stderr) || `exit ${r.exitCode ?? r.signal}`;
    return {
      violations: [{
        rule: lim ? 'input.probe.limit' : 'input.probe',
        actual: why,
        limit: 'ffprobe must parse the file cleanly within the policy formats',
        message: `ffprobe could not parse the file: ${why}`,
        hint: /not on whitelist/.test(r.stderr) ? 'the container format is not one the policy allows' : 'the file is malformed, truncated or not what it claims to be',
      }],
    };
  }
  try {
    return { probe: parseProbeJson(r.stdout), violations: [] };
  } catch (e) {
    const msg = e instanceof ProbeParseError ? e.message : 'unreadable probe output';
    return { violations: [{ rule: 'input.probe.json', actual: msg, limit: 'valid ffprobe JSON', message: msg, hint: 'the file is refused' }] };
  }
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 300);
}

/** Decode every stream to null in the sandbox under the job's limits (the deep check). */
export async function deepCheck(report: InspectReport, policy: Policy, tools: InspectTools): Promise<Violation[]> {
  if (!report.probe) return [];
  const argv = buildDeepCheckArgv({
    ffmpegPath: tools.ffmpeg,
    inputPath: sandboxInputPath(report, tools.sandbox.degraded),
    demuxer: demuxerNames(report.probe.formatName)[0] ?? 'none',
    codecs: probedCodecs(report.probe),
    maxPixels: policy.input.maxPixels,
    maxDurationSeconds: policy.input.maxDurationSeconds,
    threads: policy.limits.ffmpegThreads,
    probesize: policy.input.probe.probesize,
    analyzeDurationUs: policy.input.probe.analyzeDurationUs,
  });
  const l = policy.limits;
  const r = await supervise({
    tools: tools.sandbox,
    command: argv,
    inputFd: report.input.handle.fd,
    inputName: report.sandboxName,
    ...(tools.seccompFile ? { seccompFile: tools.seccompFile } : {}),
    tmpfsBytes: mib(16),
    grants: { fonts: false, gpu: false },
    rlimits: { addressSpaceBytes: mib(l.addressSpaceMiB), cpuSeconds: l.cpuSeconds, fileSizeBytes: mib(1), openFiles: l.openFiles },
    wallMs: l.wallSeconds * 1000,
    monitor: { sampleMs: policy.monitor.sampleMs, maxThreads: l.maxThreads, addressSpaceBytes: mib(l.addressSpaceMiB), onMemorySpike: policy.monitor.onMemorySpike, onEscapeAttempt: policy.monitor.onEscapeAttempt },
  });
  if (r.sandboxFailed || r.spawnFailed) throw new ZtError('sandbox-unavailable', `the sandbox could not start the deep check: ${firstLine(r.stderr)}`, { hint: 'run `zt-ffmpeg doctor`' });
  if (r.killedFor) return [{ rule: 'input.deepCheck', actual: r.killedFor.message, limit: r.killedFor.limit, message: `decoding the file breached ${r.killedFor.rule}: ${r.killedFor.message}`, hint: 'the file is a decoder bomb or too heavy for this policy' }];
  if (r.exitCode !== 0) {
    const lim = limitFromExit(r.exitCode, r.signal, r.stderr);
    return [{ rule: 'input.deepCheck', actual: lim?.message ?? firstLine(r.stderr), limit: 'every stream decodes cleanly', message: `decoding the file failed: ${lim?.message ?? firstLine(r.stderr)}`, hint: 'the file is corrupt or truncated' }];
  }
  return [];
}

export function probedCodecs(p: ProbeResult): string[] {
  const out = new Set<string>();
  for (const s of p.streams) if ((s.codecType === 'video' || s.codecType === 'audio') && s.codecName) out.add(s.codecName);
  return [...out];
}

export { summarizeProbe };
