/**
 * The catalogue of hardening options zt-ffmpeg knows how to use: where each lives in the
 * build's listing and what it is for, which ones each stage (and each risky demuxer) demands
 * of the build, and the refusal when the build lacks one. Every option that exists is
 * injected (plan.ts); only the required ones refuse when missing, naming the option.
 * Pure: the build's listing comes from posture/capabilities.
 */
import path from 'node:path';
import { ZtError, type Violation } from '../../errors.js';
import type { Policy, Stage } from '../../policy/types.js';
import { hasOption, type Capabilities } from '../../posture/capabilities/listing.js';

/** Where an option lives and what it is for. */
export interface HardeningOption {
  readonly id: string;
  /** The section of `-h full` that lists it. */
  readonly section: string;
  readonly option: string;
  /** For demuxer-private options: the demuxer names (format_name entries) it belongs to. */
  readonly demuxers?: readonly string[];
  /** Always written by the argv builders themselves (only its presence is checked here). */
  readonly builtin?: boolean;
  readonly purpose: string;
}

export const HARDENING_CATALOG: readonly HardeningOption[] = [
  { id: 'protocol_whitelist', section: 'AVFormatContext', option: 'protocol_whitelist', builtin: true, purpose: 'only the file protocol may be opened (no http, concat:, subfile:, data:)' },
  { id: 'format_whitelist', section: 'AVFormatContext', option: 'format_whitelist', builtin: true, purpose: 'only the demuxers the policy allows (and nested demuxers inherit it)' },
  { id: 'codec_whitelist', section: 'AVFormatContext', option: 'codec_whitelist', builtin: true, purpose: 'only the decoders of the allowed codecs touch the bytes' },
  { id: 'max_streams', section: 'AVFormatContext', option: 'max_streams', purpose: 'the demuxer refuses to create more streams than the policy allows' },
  { id: 'max_pixels', section: 'AVCodecContext', option: 'max_pixels', builtin: true, purpose: 'decoders refuse frames larger than the policy allows, whatever the header said' },
  { id: 'max_samples', section: 'AVCodecContext', option: 'max_samples', purpose: 'audio decoders refuse absurdly large frames' },
  { id: 'max_alloc', section: 'global', option: 'max_alloc', purpose: 'no single allocation larger than a share of the memory limit' },
  { id: 'mov.enable_drefs', section: 'mov,mp4,m4a,3gp,3g2,mj2', option: 'enable_drefs', demuxers: ['mov'], purpose: 'QuickTime data references to external files stay disabled' },
  { id: 'mov.use_absolute_path', section: 'mov,mp4,m4a,3gp,3g2,mj2', option: 'use_absolute_path', demuxers: ['mov'], purpose: 'QuickTime aliases may not name absolute paths' },
  { id: 'image2.pattern_type', section: 'image2 demuxer', option: 'pattern_type', demuxers: ['image2'], purpose: 'the input name is never expanded as a sequence or glob pattern' },
  { id: 'hls.allowed_extensions', section: 'hls demuxer', option: 'allowed_extensions', demuxers: ['hls'], purpose: 'HLS may open only media files with the allowed extensions' },
  { id: 'hls.allowed_segment_extensions', section: 'hls demuxer', option: 'allowed_segment_extensions', demuxers: ['hls'], purpose: 'HLS segments must carry an allowed media extension (late backport)' },
  { id: 'hls.extension_picky', section: 'hls demuxer', option: 'extension_picky', demuxers: ['hls'], purpose: 'HLS segments must be what their extension says (late backport)' },
  { id: 'concat.safe', section: 'concat demuxer', option: 'safe', demuxers: ['concat'], purpose: 'concat scripts may not name absolute or unsafe paths' },
];

/** What each stage demands of the build, before the policy's own additions. */
export const STAGE_HARDENING: Readonly<Record<Stage, readonly string[]>> = {
  initial: ['protocol_whitelist', 'format_whitelist'],
  advanced: ['protocol_whitelist', 'format_whitelist', 'codec_whitelist', 'max_pixels', 'max_streams', 'mov.enable_drefs'],
  optimal: ['protocol_whitelist', 'format_whitelist', 'codec_whitelist', 'max_pixels', 'max_streams', 'mov.enable_drefs', 'mov.use_absolute_path', 'max_alloc', 'max_samples'],
};

/** Extra demands when a policy allows a risky demuxer at all (from advanced on). */
const DEMUXER_HARDENING: Readonly<Record<string, readonly string[]>> = {
  hls: ['hls.allowed_extensions', 'hls.allowed_segment_extensions', 'hls.extension_picky'],
  concat: ['concat.safe'],
  image2: ['image2.pattern_type'],
};

/** The policy's optional list of extra required options (a proposed schema field). */
function policyRequired(policy: Policy): readonly string[] {
  const extra = (policy.input as Policy['input'] & { readonly requiredHardening?: readonly string[] }).requiredHardening;
  return Array.isArray(extra) ? extra : [];
}

/** Pure: the hardening ids this policy requires of the build. */
export function requiredHardening(policy: Policy): string[] {
  const ids = new Set<string>(STAGE_HARDENING[policy.stage]);
  if (policy.stage !== 'initial') {
    for (const f of policy.input.formats) for (const id of DEMUXER_HARDENING[f] ?? []) ids.add(id);
  }
  for (const id of policyRequired(policy)) ids.add(id);
  return [...ids];
}

/** Pure: is a (catalogue or free-form "section.option" / "option") id present in the build? */
export function supports(caps: Capabilities, id: string): boolean {
  const known = HARDENING_CATALOG.find((h) => h.id === id);
  if (known) return hasOption(caps, known.section, known.option);
  const dot = id.lastIndexOf('.');
  if (dot > 0) {
    const demuxer = id.slice(0, dot);
    const option = id.slice(dot + 1);
    return Object.entries(caps.sections).some(([s, opts]) => (s === demuxer || s === `${demuxer} demuxer` || s.split(',')[0] === demuxer) && opts.includes(option));
  }
  return ['global', 'AVFormatContext', 'AVCodecContext'].some((s) => hasOption(caps, s, id));
}

/** Pure: one violation per required option the build lacks. */
export function missingHardening(caps: Capabilities, required: readonly string[], binary: string): Violation[] {
  return required
    .filter((id) => !supports(caps, id))
    .map((id) => {
      const known = HARDENING_CATALOG.find((h) => h.id === id);
      return {
        rule: 'posture.hardening',
        actual: `${path.basename(binary)} has no "${id}" option`,
        limit: id,
        message: `${binary} lacks the hardening option "${id}"${known ? ` (${known.purpose})` : ''}, which this policy requires`,
        hint: 'install an ffmpeg build that has it (for Debian: the current security update of the ffmpeg package), or use a policy that does not require it',
      };
    });
}

export function hardeningError(v: readonly Violation[]): ZtError {
  return new ZtError('posture-failed', `the installed ffmpeg lacks required hardening: ${v.map((x) => x.limit).join(', ')}`, {
    hint: v[0]?.hint ?? 'install a patched ffmpeg',
    violations: v,
  });
}
