/**
 * The ffmpeg command line, built from a vetted template (or firewall-checked raw arguments)
 * plus the wrapper's own hardening, which no argument can remove:
 *   -nostdin, -y into the one output file the host made, the protocol whitelist "file", the demuxer pinned to the format
 *   ffprobe saw (-f and -format_whitelist), decoders limited to those of the codecs ffprobe saw
 *   (-codec_whitelist, by decoder name), -max_pixels, a duration cap (-t), bounded threads,
 *   metadata stripped (global, per stream, per chapter: the firewall refuses raw -map_metadata,
 *   which would map it back, since ffmpeg applies explicit mappings whatever follows them),
 *   ffmpeg's progress report on a pipe of its own; and every further hardening option this build was found to have
 *   (-max_streams, -max_alloc, -max_samples, demuxer-private options such as mov's
 *   enable_drefs=0; see plan/hardening/).
 * Pure: paths are where the files are seen from inside the sandbox.
 */
import { decodersFor } from './hardening/decoders.js';
import type { HardeningArgs } from './hardening/plan.js';

export interface FfmpegPlanInput {
  readonly ffmpegPath: string;
  readonly inputPath: string;
  readonly outputPath: string;
  /** The demuxer ffprobe identified (first name of its format_name). */
  readonly demuxer: string;
  /** Codecs of the streams the job reads; their decoders are the only ones allowed. */
  readonly codecs: readonly string[];
  /** Indexes of the streams the job does not read: disabled before the input is opened (-discard:N all). */
  readonly discard?: readonly number[];
  readonly maxPixels: number;
  readonly maxDurationSeconds: number;
  readonly threads: number;
  readonly probesize: number;
  readonly analyzeDurationUs: number;
  /** The output muxer (-f). */
  readonly muxer: string;
  /** Operation template or firewall-approved raw arguments. */
  readonly outputArgs: readonly string[];
  /**
   * The fd ffmpeg writes its -progress report to (the monitor's output budget, the progress
   * bar); its stats line on stderr is always off, so stderr carries diagnostics only.
   */
  readonly progressFd?: number;
  /** output.keepMetadata: keep the input's tags (ffmpeg's default) instead of stripping them. */
  readonly keepMetadata?: boolean;
  /** Run-time detected hardening (InspectReport.decodeHardening); its decoders replace the codec names. */
  readonly hardening?: HardeningArgs;
}

/**
 * A stream disabled with -discard all is never read: no -map may name it (ffmpeg refuses a map
 * that matches only disabled streams) and `-map 0` leaves it out.
 */
function discardArgs(discard: readonly number[] | undefined): string[] {
  return (discard ?? []).flatMap((i) => [`-discard:${i}`, 'all']);
}

function codecWhitelist(codecs: readonly string[], h: HardeningArgs | undefined): string[] {
  const decoders = h && h.decoders.length > 0 ? h.decoders : decodersFor(codecs, undefined);
  return decoders.length > 0 ? ['-codec_whitelist', decoders.join(',')] : [];
}

/** No automatic copy of the input's global, stream or chapter tags, nor of its chapters. */
const STRIP_METADATA = ['-map_metadata', '-1', '-map_metadata:s', '-1', '-map_metadata:c', '-1', '-map_chapters', '-1'];

/**
 * How the input may be opened and parsed: only the file protocol, the demuxer ffprobe found
 * (pinned, so the bytes cannot be re-probed as something else), the decoders of the codecs it
 * found, the pixel limit and the build's input hardening. The same for the deep check and the
 * transcode.
 */
function pinnedInputArgs(p: Omit<FfmpegPlanInput, 'outputPath' | 'muxer' | 'outputArgs' | 'stats'>): string[] {
  return [
    '-protocol_whitelist', 'file',
    '-format_whitelist', p.demuxer,
    '-f', p.demuxer,
    ...codecWhitelist(p.codecs, p.hardening),
    '-max_pixels', String(p.maxPixels),
    ...(p.hardening?.inputArgs ?? []),
    ...discardArgs(p.discard),
    '-probesize', String(p.probesize),
    '-analyzeduration', String(p.analyzeDurationUs),
  ];
}

export function buildFfmpegArgv(p: FfmpegPlanInput): string[] {
  return [
    p.ffmpegPath,
    '-hide_banner',
    '-nostdin',
    // The output path is the empty file the host made for this job, never anything else.
    '-y',
    '-loglevel', 'level+warning',
    '-nostats',
    ...(p.progressFd !== undefined ? ['-progress', `pipe:${p.progressFd}`, '-stats_period', '0.5'] : []),
    ...(p.hardening?.globalArgs ?? []),
    '-threads', String(p.threads),
    '-filter_threads', String(p.threads),
    // Input side: what may be opened and how it is parsed.
    ...pinnedInputArgs(p),
    '-i', p.inputPath,
    // Output side. The wrapper's own options come after the template or raw arguments:
    // ffmpeg keeps the last value it sees, so none of these can be lifted by an argument.
    ...p.outputArgs,
    '-t', String(p.maxDurationSeconds),
    ...(p.keepMetadata === true ? [] : STRIP_METADATA),
    '-threads', String(p.threads),
    '-f', p.muxer,
    p.outputPath,
  ];
}

export interface ProbePlanInput {
  readonly ffprobePath: string;
  readonly inputPath: string;
  /** Demuxers ffprobe may pick from. */
  readonly formats: readonly string[];
  readonly probesize: number;
  readonly analyzeDurationUs: number;
  readonly demuxer?: string;
  /** Extra hardening: program options, input options and the decoders allowed while probing. */
  readonly hardening?: HardeningArgs;
}

/** Pure: the ffprobe command line for a sandboxed probe. */
export function buildProbeArgv(p: ProbePlanInput): string[] {
  const decoders = p.hardening?.decoders ?? [];
  return [
    p.ffprobePath,
    '-hide_banner',
    '-v', 'error',
    ...(p.hardening?.globalArgs ?? []),
    '-protocol_whitelist', 'file',
    '-format_whitelist', p.formats.join(','),
    ...(p.demuxer ? ['-f', p.demuxer] : []),
    ...(decoders.length > 0 ? ['-codec_whitelist', decoders.join(',')] : []),
    ...(p.hardening?.inputArgs ?? []),
    '-probesize', String(p.probesize),
    '-analyzeduration', String(p.analyzeDurationUs),
    '-show_format',
    '-show_streams',
    '-show_chapters',
    '-of', 'json=c=1',
    '-i', p.inputPath,
  ];
}

/** Pure: decode every stream to null (the deep check), under the same pins as the real job. */
export function buildDeepCheckArgv(p: Omit<FfmpegPlanInput, 'outputPath' | 'muxer' | 'outputArgs' | 'progressFd' | 'keepMetadata'>): string[] {
  return [
    p.ffmpegPath,
    '-hide_banner', '-nostdin', '-nostats',
    '-loglevel', 'level+error',
    '-xerror',
    ...(p.hardening?.globalArgs ?? []),
    '-threads', String(p.threads),
    ...pinnedInputArgs(p),
    '-err_detect', 'explode',
    '-i', p.inputPath,
    '-t', String(p.maxDurationSeconds),
    '-map', '0:v?', '-map', '0:a?', '-f', 'null', '-',
  ];
}

/**
 * Pure: a demux-only pass over the input (every packet stream-copied to the null muxer), for an
 * input whose container states no duration (a live recording: a Matroska or WebM file written
 * with unknown sizes). ffmpeg's final progress report says how much media the packets cover;
 * nothing is decoded. Under the same pins as the deep check and the transcode.
 */
export function buildDurationScanArgv(p: Omit<FfmpegPlanInput, 'outputPath' | 'muxer' | 'outputArgs' | 'progressFd' | 'keepMetadata'>): string[] {
  return [
    p.ffmpegPath,
    '-hide_banner', '-nostdin', '-nostats',
    '-loglevel', 'level+error',
    '-progress', 'pipe:1', '-stats_period', '60',
    ...(p.hardening?.globalArgs ?? []),
    '-threads', '1',
    ...pinnedInputArgs(p),
    '-i', p.inputPath,
    // A second past the limit: far enough to see that a recording is longer than allowed, no further.
    '-t', String(p.maxDurationSeconds + 1),
    '-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-f', 'null', '-',
  ];
}
