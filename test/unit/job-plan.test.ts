/** The job plan: every command line and sandbox spec of a job, from policy + probe + capabilities. */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { jobPlanner } from '../../src/plan/job-plan.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import type { Capabilities } from '../../src/posture/capabilities/listing.js';
import { BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import type { Policy } from '../../src/policy/types.js';

const caps: Capabilities = {
  sections: {
    global: ['max_alloc'],
    AVFormatContext: ['codec_whitelist', 'format_whitelist', 'max_streams', 'protocol_whitelist'],
    AVCodecContext: ['max_pixels', 'max_samples'],
    'mov,mp4,m4a,3gp,3g2,mj2': ['enable_drefs', 'use_absolute_path'],
    'image2 demuxer': ['pattern_type'],
  },
  decoders: { h264: { type: 'V', codec: 'h264' }, aac: { type: 'A', codec: 'aac' }, mp3float: { type: 'A', codec: 'mp3' } },
};

const probe = parseProbeJson(JSON.stringify({
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '1.0', nb_streams: 2 },
  streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 64 }, { index: 1, codec_type: 'audio', codec_name: 'aac' }],
}));

const input = { fd: 3, name: 'input.mp4', hostPath: '/uploads/in.mp4' };
function site(binary: string) {
  return { sandbox: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false }, seccompProgram: Buffer.alloc(8), binary };
}

async function advanced(): Promise<Policy> {
  return parsePolicyText('/a.yaml', Buffer.from(await readFile(path.join(BUNDLED_DIR, 'advanced.yaml'), 'utf8'))).data as unknown as Policy;
}

describe('jobPlanner (what inspect is handed)', () => {
  it('probes with every format the policy allows, hardened before the input', async () => {
    const policy = await advanced();
    const { run, hardening } = jobPlanner.probe(policy, caps, site('/usr/bin/ffprobe'), input);
    const argv = run.command;
    const i = argv.indexOf('-i');
    expect(argv[0]).toBe('/usr/bin/ffprobe');
    expect(argv[i + 1]).toBe('/in/input.mp4');
    expect(argv[argv.indexOf('-format_whitelist') + 1]).toBe(policy.input.formats.join(','));
    expect(argv.indexOf('-max_streams')).toBeLessThan(i);
    // Nothing is pinned before the probe, so no demuxer-private option goes in.
    expect(argv).not.toContain('-enable_drefs');
    expect(hardening.applied).toEqual(expect.arrayContaining(['protocol_whitelist', 'max_streams', 'max_alloc']));
  });

  it('decodes with the probed demuxer pinned and only the decoders of the probed codecs', async () => {
    const policy = await advanced();
    const h = jobPlanner.decodeHardening(policy, caps, probe);
    expect(h.decoders).toEqual(['aac', 'h264']);
    expect(h.inputArgs).toEqual(expect.arrayContaining(['-enable_drefs', '0', '-use_absolute_path', '0']));
    const argv = jobPlanner.deepCheck(policy, site('/usr/bin/ffmpeg'), input, probe, h).command;
    expect(argv[argv.indexOf('-f') + 1]).toBe('mov');
    expect(argv[argv.indexOf('-codec_whitelist') + 1]).toBe('aac,h264');
    expect(argv.slice(-3)).toEqual(['-f', 'null', '-']);
  });

  it('refuses a build that lacks what the stage requires, naming the option', async () => {
    const policy = await advanced();
    expect(jobPlanner.hardeningRefusal(policy, caps, '/usr/bin/ffprobe')).toBeUndefined();
    const bare: Capabilities = { sections: { AVFormatContext: ['format_whitelist', 'protocol_whitelist'] }, decoders: {} };
    const refusal = jobPlanner.hardeningRefusal(policy, bare, '/usr/bin/ffprobe');
    expect(refusal?.reason).toBe('posture-failed');
    expect(refusal?.violations.map((v) => v.limit)).toEqual(expect.arrayContaining(['codec_whitelist', 'max_streams']));
  });
});
