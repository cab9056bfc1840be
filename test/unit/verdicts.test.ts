/** Pure verdicts: the probe rules, the output check, exit-code severity, the maturity checklist. */
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkOutputProbe } from '../../src/verify/output-probe.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import { mostSevere } from '../../src/errors.js';
import { evaluateControls, highestStageMet, type DoctorFacts } from '../../src/doctor/controls.js';
import { BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import type { Policy } from '../../src/policy/types.js';

const probe = (format: string, streams: object[], duration?: number): string => JSON.stringify({ format: { format_name: format, ...(duration !== undefined ? { duration: String(duration) } : {}) }, streams });

describe('checkOutputProbe', () => {
  const target = { format: 'mp4', args: [], expect: { formats: ['mov', 'mp4'], video: ['h264'], audio: ['aac'] } };
  it('accepts what the operation promises', () => {
    const p = parseProbeJson(probe('mov,mp4,m4a,3gp,3g2,mj2', [{ codec_type: 'video', codec_name: 'h264' }, { codec_type: 'audio', codec_name: 'aac' }], 10.02));
    expect(checkOutputProbe(p, target, 10)).toEqual([]);
  });
  it('refuses the wrong container, codec or a duration far from the input', () => {
    const p = parseProbeJson(probe('matroska,webm', [{ codec_type: 'video', codec_name: 'vp9' }], 3));
    expect(checkOutputProbe(p, target, 10).map((v) => v.rule)).toEqual(['output.format', 'output.codecs.video', 'output.duration']);
  });
});

describe('mostSevere', () => {
  it('is 0 only when every code is 0, and ranks infrastructure failures above refusals', () => {
    expect(mostSevere([0, 0])).toBe(0);
    expect(mostSevere([0, 3])).toBe(3);
    expect(mostSevere([3, 6, 4])).toBe(6);
    expect(mostSevere([3, 8, 7])).toBe(8);
  });
});

describe('the maturity checklist', () => {
  async function facts(stage: 'initial' | 'advanced' | 'optimal', over: Partial<DoctorFacts> = {}): Promise<DoctorFacts> {
    const policy = parsePolicyText('/p.yaml', Buffer.from(await readFile(path.join(BUNDLED_DIR, `${stage}.yaml`), 'utf8'))).data as unknown as Policy;
    const bin = (name: 'ffmpeg' | 'ffprobe' | 'bwrap' | 'prlimit') => ({ name, path: `/usr/bin/${name}`, version: '9.9', sha256: 'x', owner: 0, mode: '755' });
    return {
      policy,
      policyPath: '/p.yaml',
      policySignedBy: undefined,
      externalPolicyKeyring: false,
      posture: { binaries: { ffmpeg: bin('ffmpeg'), ffprobe: bin('ffprobe'), bwrap: bin('bwrap'), prlimit: bin('prlimit') }, violations: [], missing: [] },
      sandboxWorks: { ok: true, detail: '' },
      sandboxUser: { ok: true, detail: 'sandbox uid 65534 is host uid 999 (the dedicated user zt-ffmpeg); /proc/sys masked' },
      seccompWorks: { ok: true, detail: '' },
      networkIsolated: { ok: true, detail: '' },
      auditKey: { exists: true, mode: '600', path: '/k' },
      auditLog: { path: '/l', writable: true, checkpoint: 'ok', detail: '' },
      issuerKeys: { ok: true, detail: '' },
      ci: undefined,
      ...over,
    };
  }
  it('the advanced policy on a healthy machine meets advanced, not optimal', async () => {
    const c = evaluateControls(await facts('advanced'));
    expect(highestStageMet(c)).toBe('advanced');
  });
  it('no sandbox means not even initial', async () => {
    const c = evaluateControls(await facts('advanced', { sandboxWorks: { ok: false, detail: 'no userns' }, sandboxUser: { ok: false, detail: 'not checked (no sandbox)' } }));
    expect(highestStageMet(c)).toBeUndefined();
  });
  it('the optimal policy signed from an external keyring with pins meets optimal', async () => {
    const f = await facts('optimal', { policySignedBy: 'ed25519:abc', externalPolicyKeyring: true });
    const pinned = { ...f.policy, posture: { ...f.policy.posture, binaries: { ffmpeg: { sha256: 'x' }, ffprobe: { sha256: 'x' }, bwrap: { sha256: 'x' } } } } as unknown as Policy;
    const c = evaluateControls({ ...f, policy: pinned });
    expect(c.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual([]);
    expect(highestStageMet(c)).toBe('optimal');
  });
});

describe('the sandbox preview of a policy (policy explain)', () => {
  it('shows the limits, the isolation flags and the seccomp profile every job of the policy runs under', async () => {
    const { sandboxPreview } = await import('../../src/plan/sandbox-preview.js');
    const policy = parsePolicyText('/p.yaml', Buffer.from(await readFile(path.join(BUNDLED_DIR, 'optimal.yaml'), 'utf8'))).data as unknown as Policy;
    const p = sandboxPreview(policy);
    expect(p.prlimit).toEqual(expect.arrayContaining([`--as=${4096 * 1048576}`, '--core=0', `--nofile=128`]));
    expect(p.bwrap).toEqual(expect.arrayContaining(['--unshare-all', '--die-with-parent', '--new-session', '--clearenv']));
    // The transcode's descriptor slots: the program on 5, bubblewrap's status on 8.
    expect(p.bwrap.join(' ')).toContain('--seccomp 0');
    expect(p.bwrap.join(' ')).toContain('--json-status-fd 8');
    expect(p.bwrap.join(' ')).toContain('--cap-drop ALL');
    expect(p.seccomp).toMatchObject({ profile: 'strict' });
  });
});
