/**
 * Fixed inputs for the job plan's golden tests: a policy with every field the plan reads set
 * here (so the golden command lines do not move when a bundled stage file is retuned), the
 * capabilities of an ffmpeg build, a probe result, and where the sandbox sees the input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import type { Capabilities } from '../../src/posture/capabilities/listing.js';
import { BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import type { Policy } from '../../src/policy/types.js';
import type { SandboxSite } from '../../src/inspect/planner.js';

export function bundledPolicy(stage: 'initial' | 'advanced' | 'optimal'): Policy {
  const file = path.join(BUNDLED_DIR, `${stage}.yaml`);
  return parsePolicyText(file, readFileSync(file)).data as unknown as Policy;
}

const advanced = bundledPolicy('advanced');

export const GOLDEN_POLICY: Policy = {
  ...advanced,
  input: {
    ...advanced.input,
    formats: ['mov', 'matroska', 'wav'],
    codecs: { video: ['h264', 'vp9'], audio: ['aac', 'opus', 'pcm_s16le'], subtitle: [] },
    maxStreams: 16,
    maxPixels: 33177600,
    maxSampleRate: 192000,
    maxChannels: 8,
    maxDurationSeconds: 14400,
    probe: { ...advanced.input.probe, probesize: 10000000, analyzeDurationUs: 10000000, timeoutSeconds: 30, addressSpaceMiB: 1024 },
  },
  limits: { wallSeconds: 1800, cpuSeconds: 3600, addressSpaceMiB: 6144, outputMaxMiB: 4096, openFiles: 256, maxThreads: 64, ffmpegThreads: 4 },
  sandbox: { ...advanced.sandbox, tmpfsMiB: 256, grants: { fonts: false, gpu: false } },
  monitor: { ...advanced.monitor, sampleMs: 250, onMemorySpike: 'warn', onEscapeAttempt: 'kill' },
};

export const caps: Capabilities = {
  sections: {
    global: ['max_alloc'],
    AVFormatContext: ['codec_whitelist', 'format_whitelist', 'max_streams', 'protocol_whitelist'],
    AVCodecContext: ['max_pixels', 'max_samples'],
    'mov,mp4,m4a,3gp,3g2,mj2': ['enable_drefs', 'use_absolute_path'],
    'image2 demuxer': ['pattern_type'],
  },
  decoders: { h264: { type: 'V', codec: 'h264' }, aac: { type: 'A', codec: 'aac' }, mp3float: { type: 'A', codec: 'mp3' } },
};

export const probe = parseProbeJson(JSON.stringify({
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '1.0', nb_streams: 2 },
  streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 64 }, { index: 1, codec_type: 'audio', codec_name: 'aac' }],
}));

export const input = { fd: 3, name: 'input.mp4' };

export function site(binary: string): SandboxSite {
  return { sandbox: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false, prlimitFd: 21, fontDirs: ['/usr/share/fonts'], procMask: { dirs: ['/proc/sys'], files: ['/proc/sysrq-trigger'] } }, seccompProgram: Buffer.alloc(8), binary, binaryFd: 20 };
}
