/**
 * Re-validate the output before it is published: a sandboxed ffprobe (the output was written
 * by a process that parsed hostile bytes) must find the container and codecs the operation
 * promises and a duration consistent with the input's; then it is hashed.
 */
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Violation } from '../errors.js';
import type { OperationTarget } from '../policy/types.js';
import { buildProbeArgv } from '../plan/ffmpeg-argv.js';
import { supervise, type SandboxTools } from '../sandbox/supervise.js';
import { mib } from '../sandbox/prlimit.js';
import { parseProbeJson, type ProbeResult } from '../inspect/probe-result.js';
import { demuxerNames } from '../media/formats.js';
import { SANDBOX_INPUT_DIR } from '../sandbox/bwrap.js';
import { detectCapabilities } from '../posture/capabilities/detect.js';
import { decodersFor } from '../plan/hardening/decoders.js';
import { planHardening, type HardeningArgs } from '../plan/hardening/plan.js';

export interface OutputCheck {
  readonly violations: Violation[];
  readonly probe: ProbeResult | undefined;
  readonly sha256: string;
  readonly size: number;
}

/** Pure: compare what the output probe found with what the operation promised. */
export function checkOutputProbe(p: ProbeResult, target: OperationTarget | undefined, expectedDuration: number | undefined): Violation[] {
  const v: Violation[] = [];
  const names = demuxerNames(p.formatName);
  if (target && !names.some((n) => target.expect.formats.includes(n))) {
    v.push({ rule: 'output.format', actual: p.formatName, limit: target.expect.formats, message: `the output's container is "${p.formatName}"`, hint: 'the operation template is wrong for this output; report it' });
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
    const d = p.duration ?? Math.max(0, ...p.streams.map((s) => s.duration ?? 0));
    const tolerance = Math.max(1, expectedDuration * 0.05);
    if (!(Math.abs(d - expectedDuration) <= tolerance)) {
      v.push({ rule: 'output.duration', actual: d, limit: `${expectedDuration} ± ${tolerance.toFixed(2)} s`, message: `the output lasts ${d} s but the input ${expectedDuration} s`, hint: 'the input may be truncated or its header may lie about its duration' });
    }
  }
  return v;
}

export async function verifyOutput(
  file: string,
  target: OperationTarget | undefined,
  expectedDuration: number | undefined,
  tools: { sandbox: SandboxTools; ffprobe: string; seccompFile: string | undefined; probeTimeoutSeconds: number; stateDir?: string; ffprobeSha256?: string },
): Promise<OutputCheck> {
  const handle = await open(file, 'r');
  try {
    const st = await handle.stat();
    const hashP = (async () => {
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(1024 * 1024);
      let pos = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      return h.digest('hex');
    })();
    const name = 'output';
    const formats = target ? [...new Set([...target.expect.formats, ...target.expect.formats.flatMap(aliasFormats)])] : [];
    const probeFormats = formats.length > 0 ? formats : ['mov', 'matroska', 'wav', 'mp3', 'flac', 'ogg', 'image2', 'png_pipe', 'jpeg_pipe'];
    const hardening = await outputHardening(tools.ffprobe, target, probeFormats, { ...(tools.stateDir ? { stateDir: tools.stateDir } : {}), ...(tools.ffprobeSha256 ? { sha256: tools.ffprobeSha256 } : {}) });
    const argv = buildProbeArgv({
      ffprobePath: tools.ffprobe,
      inputPath: tools.sandbox.degraded ? file : `${SANDBOX_INPUT_DIR}/${name}`,
      formats: probeFormats,
      probesize: 5_000_000,
      analyzeDurationUs: 5_000_000,
      ...(hardening ? { hardening } : {}),
    });
    const r = await supervise({
      tools: tools.sandbox,
      command: argv,
      inputFd: handle.fd,
      inputName: name,
      ...(tools.seccompFile ? { seccompFile: tools.seccompFile } : {}),
      tmpfsBytes: mib(16),
      grants: { fonts: false, gpu: false },
      rlimits: { addressSpaceBytes: mib(1024), cpuSeconds: tools.probeTimeoutSeconds, fileSizeBytes: mib(1), openFiles: 64 },
      wallMs: tools.probeTimeoutSeconds * 1000,
    });
    const sha256 = await hashP;
    if (r.exitCode !== 0 || r.killedFor) {
      const why = (r.stderr.split('\n').find((l) => l.trim()) ?? r.killedFor?.message ?? `exit ${r.exitCode}`).trim();
      return { violations: [{ rule: 'output.probe', actual: why, limit: 'a well-formed output', message: `the output did not pass the sandboxed probe: ${why}` }], probe: undefined, sha256, size: st.size };
    }
    let probe: ProbeResult;
    try {
      probe = parseProbeJson(r.stdout);
    } catch {
      return { violations: [{ rule: 'output.probe', actual: 'invalid JSON', limit: 'valid ffprobe JSON', message: 'the output probe printed invalid JSON' }], probe: undefined, sha256, size: st.size };
    }
    return { violations: checkOutputProbe(probe, target, expectedDuration), probe, sha256, size: st.size };
  } finally {
    await handle.close();
  }
}

/**
 * The output was written by a process that parsed hostile bytes, so its probe is hardened like
 * the input's: the build's extra options, and only the decoders of the promised codecs.
 */
async function outputHardening(ffprobe: string, target: OperationTarget | undefined, formats: readonly string[], cache: { stateDir?: string; sha256?: string }): Promise<HardeningArgs | undefined> {
  // Same cache key as the input's inspection, so the listing is read once per binary, not per probe.
  const caps = await detectCapabilities(ffprobe, cache).catch(() => undefined);
  if (!caps) return undefined;
  // Remux and raw-argument outputs promise no codecs: then no decoder whitelist, only the limits.
  const promised = [...(target?.expect.video ?? []), ...(target?.expect.audio ?? [])];
  return planHardening(caps, {
    formats,
    decoders: decodersFor(promised, caps),
    maxStreams: 64,
    maxPixels: 7680 * 4320,
    maxSampleRate: 768000,
    maxChannels: 64,
    addressSpaceMiB: 1024,
    mediaExtensions: [],
  });
}

/** Demuxer names that read what a muxer of that name writes. */
function aliasFormats(f: string): string[] {
  switch (f) {
    case 'mp4':
      return ['mov'];
    case 'webm':
      return ['matroska'];
    case 'image2':
      return ['png_pipe', 'jpeg_pipe'];
    default:
      return [];
  }
}
