/**
 * The command lines inspect runs (the sandboxed probe and the deep check) and the hardening
 * they inject, planned from the policy and what the build can do. Inspect comes before plan in
 * the pipeline and must not import it, so the pipeline hands this planner to inspect.
 * Pure: the capabilities and the probe result come from the caller.
 */
import type { InspectPlanner } from '../inspect/planner.js';
import { probedCodecs } from '../inspect/probe-result.js';
import { demuxerNames } from '../media/formats.js';
import { buildDeepCheckArgv, buildProbeArgv } from './ffmpeg-argv.js';
import { hardeningError, missingHardening, requiredHardening } from './hardening/catalog.js';
import { decodersFor } from './hardening/decoders.js';
import { mediaExtensionsFor, planHardening, type HardeningPlan } from './hardening/plan.js';

/** The demuxer a probed file is decoded with: the first name of ffprobe's format_name. */
function pinnedDemuxer(formatName: string): string {
  return demuxerNames(formatName)[0] ?? 'none';
}

export const inspectPlanner: InspectPlanner<HardeningPlan> = {
  hardeningRefusal(policy, caps, binary) {
    const missing = missingHardening(caps, requiredHardening(policy), binary);
    return missing.length > 0 ? hardeningError(missing) : undefined;
  },

  probe(policy, caps, site) {
    const i = policy.input;
    const c = i.codecs;
    // The probe may meet any format and codec the policy allows: nothing is pinned yet.
    const hardening = planHardening(caps, {
      formats: i.formats,
      decoders: decodersFor([...c.video, ...c.audio, ...c.subtitle], caps),
      maxStreams: i.maxStreams,
      maxPixels: i.maxPixels,
      maxSampleRate: i.maxSampleRate,
      maxChannels: i.maxChannels,
      addressSpaceMiB: i.probe.addressSpaceMiB,
      mediaExtensions: mediaExtensionsFor(i.formats),
    });
    const argv = buildProbeArgv({ ffprobePath: site.binary, inputPath: site.inputPath, formats: i.formats, probesize: i.probe.probesize, analyzeDurationUs: i.probe.analyzeDurationUs, hardening });
    return { argv, hardening };
  },

  decodeHardening(policy, caps, probe) {
    const pinned = pinnedDemuxer(probe.formatName);
    return planHardening(caps, {
      formats: [pinned],
      pinned,
      decoders: decodersFor(probedCodecs(probe), caps),
      maxStreams: policy.input.maxStreams,
      maxPixels: policy.input.maxPixels,
      maxSampleRate: policy.input.maxSampleRate,
      maxChannels: policy.input.maxChannels,
      addressSpaceMiB: policy.limits.addressSpaceMiB,
      mediaExtensions: mediaExtensionsFor(policy.input.formats),
    });
  },

  deepCheck(policy, site, probe, hardening) {
    return buildDeepCheckArgv({
      ffmpegPath: site.binary,
      inputPath: site.inputPath,
      demuxer: pinnedDemuxer(probe.formatName),
      codecs: probedCodecs(probe),
      maxPixels: policy.input.maxPixels,
      maxDurationSeconds: policy.input.maxDurationSeconds,
      threads: policy.limits.ffmpegThreads,
      probesize: policy.input.probe.probesize,
      analyzeDurationUs: policy.input.probe.analyzeDurationUs,
      hardening,
    });
  },
};
