/**
 * Turning a build's capabilities into arguments: every catalogued option the build has (and
 * the context uses) is injected, whether or not the stage requires it; an option the build
 * lacks is left out and reported absent (catalog.ts decides whether that refuses).
 * Pure: the argv builders (plan/ffmpeg-argv.ts) place the result.
 */
import { FORMAT_FAMILIES } from '../../media/formats.js';
import { hasOption, type Capabilities } from '../../posture/capabilities/listing.js';
import { HARDENING_CATALOG } from './catalog.js';

/** What the argv builders take: extra program and input options, and the decoders allowed. */
export interface HardeningArgs {
  /** Options before any input (program-wide). */
  readonly globalArgs: readonly string[];
  /** Input options, placed before -i. */
  readonly inputArgs: readonly string[];
  /** Decoder names for -codec_whitelist. */
  readonly decoders: readonly string[];
}

export interface HardeningPlan extends HardeningArgs {
  /** Catalogue ids injected. */
  readonly applied: readonly string[];
  /** Catalogue ids this build does not have (injected nothing for them). */
  readonly absent: readonly string[];
}

export interface HardeningContext {
  /** The demuxers that may run (the policy's list for the probe; the pinned one for decoding). */
  readonly formats: readonly string[];
  /** The pinned demuxer, when there is one: only then are demuxer-private options injected. */
  readonly pinned?: string;
  /** Decoders allowed (already mapped from codec names). */
  readonly decoders: readonly string[];
  readonly maxStreams: number;
  readonly maxPixels: number;
  readonly maxSampleRate: number;
  readonly maxChannels: number;
  /** Memory limit of the process, for max_alloc. */
  readonly addressSpaceMiB: number;
  /** File extensions a playlist demuxer could be allowed to open (only used when hls is pinned). */
  readonly mediaExtensions: readonly string[];
}

function valueOf(id: string, c: HardeningContext): string | undefined {
  switch (id) {
    case 'protocol_whitelist':
      return 'file';
    case 'format_whitelist':
      return c.pinned ?? c.formats.join(',');
    case 'codec_whitelist':
      return c.decoders.length > 0 ? c.decoders.join(',') : undefined;
    case 'max_streams':
      return String(c.maxStreams);
    case 'max_pixels':
      return String(c.maxPixels);
    case 'max_samples':
      return String(Math.max(1 << 20, c.maxSampleRate * c.maxChannels));
    case 'max_alloc':
      return String(Math.max(256, Math.floor(c.addressSpaceMiB / 4)) * 1024 * 1024);
    case 'mov.enable_drefs':
    case 'mov.use_absolute_path':
      return '0';
    case 'image2.pattern_type':
      return 'none';
    case 'hls.allowed_extensions':
    case 'hls.allowed_segment_extensions':
      return c.mediaExtensions.join(',');
    case 'hls.extension_picky':
    case 'concat.safe':
      return '1';
    default:
      return undefined;
  }
}

/** Pure: the arguments that inject every catalogued option the build has and the context uses. */
export function planHardening(caps: Capabilities, c: HardeningContext): HardeningPlan {
  const globalArgs: string[] = [];
  const inputArgs: string[] = [];
  const applied: string[] = [];
  const absent: string[] = [];
  for (const h of HARDENING_CATALOG) {
    if (h.demuxers && (c.pinned === undefined || !h.demuxers.includes(c.pinned))) continue;
    if (!hasOption(caps, h.section, h.option)) {
      absent.push(h.id);
      continue;
    }
    if (h.builtin) {
      applied.push(h.id);
      continue;
    }
    const value = valueOf(h.id, c);
    if (value === undefined) continue;
    (h.section === 'global' ? globalArgs : inputArgs).push(`-${h.option}`, value);
    applied.push(h.id);
  }
  return { globalArgs, inputArgs, decoders: c.decoders, applied, absent };
}

/** Extensions of the media families a policy's formats cover (for playlist demuxers). */
export function mediaExtensionsFor(formats: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of FORMAT_FAMILIES) if (f.demuxers.some((d) => formats.includes(d))) for (const e of f.extensions) out.add(e);
  return [...out].sort();
}
