/**
 * Re-validate the output before it is published: a sandboxed ffprobe (the output was written
 * by a process that parsed hostile bytes) must find the container and codecs the operation
 * promises and a duration consistent with the input's; then it is hashed.
 */
import type { FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Violation } from '../errors.js';
import type { OperationTarget } from '../policy/types.js';
import { planOutputProbe } from '../plan/job-plan.js';
import { supervise, type SandboxTools } from '../sandbox/supervise.js';
import { parseProbeJson, type ProbeResult } from '../inspect/probe-result.js';
import { demuxerNames } from '../media/formats.js';
import { detectCapabilities } from '../posture/capabilities/detect.js';

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

/**
 * `handle` is the output as claimed from the job directory (src/verify/sandbox-output.ts): it is
 * hashed and bound into the probe's sandbox, and it is what gets published.
 */
export async function verifyOutput(
  handle: FileHandle,
  target: OperationTarget | undefined,
  expectedDuration: number | undefined,
  tools: { sandbox: SandboxTools; ffprobe: string; ffprobeFd?: number; seccompFile: string | undefined; probeTimeoutSeconds: number; stateDir?: string; ffprobeSha256?: string },
): Promise<OutputCheck> {
  {
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
    // Same cache key as the input's inspection, so the listing is read once per binary, not per probe.
    const caps = await detectCapabilities(tools.ffprobe, { ...(tools.stateDir ? { stateDir: tools.stateDir } : {}), ...(tools.ffprobeSha256 ? { sha256: tools.ffprobeSha256 } : {}), ...(tools.sandbox.runAs ? { runAs: tools.sandbox.runAs } : {}) }).catch(() => undefined);
    const site = { sandbox: tools.sandbox, seccompFile: tools.seccompFile, binary: tools.ffprobe, ...(tools.ffprobeFd !== undefined ? { binaryFd: tools.ffprobeFd } : {}) };
    const r = await supervise(planOutputProbe(site, { fd: handle.fd, name: 'output' }, target, caps, tools.probeTimeoutSeconds));
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
  }
}
