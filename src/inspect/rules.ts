/**
 * The verdict on what ffprobe found, rule by rule. Pure: every violation is collected, each
 * with its rule id, the actual value, the limit and what to do.
 */
import type { InputRuleId } from './rule-ids.js';
import type { Violation } from '../errors.js';
import { STREAM_KINDS, unusedStreamAction, type InputConfig, type StreamKindName } from '../policy/types.js';
import type { ProbeResult } from './probe-result.js';
import type { StructureProblem, StructureProblemKind, StructureReport } from './structure.js';
import type { EmbeddedMarker } from './file.js';
import { demuxerNames, demuxerInFamily, familyOfMagic } from '../media/formats.js';

const tighter = 'use a policy that allows it, or convert the file first';

/** A stream the job does not read and the policy lets the file carry (input.unusedStreams: ignore). */
export interface IgnoredStream {
  readonly index: number;
  readonly type: string;
  readonly codec: string | undefined;
}

export interface ProbeVerdict {
  readonly violations: Violation[];
  readonly warnings: Violation[];
  /** Streams left out of the judgement because the job does not read them. */
  readonly ignored: IgnoredStream[];
}

function kindOf(codecType: string): StreamKindName | undefined {
  return (STREAM_KINDS as readonly string[]).includes(codecType) ? (codecType as StreamKindName) : undefined;
}

/**
 * `used`: the indexes of the streams the planned job reads (undefined: all of them). The rules
 * on codecs, attachments and data streams apply to those; an unused stream is ignored, judged
 * like a used one, or refuses the file, as input.unusedStreams says for its kind. Every stream
 * counts towards maxStreams and the metadata limits.
 */
export function checkProbe(p: ProbeResult, rules: InputConfig, magicType: string | undefined, used?: ReadonlySet<number>): ProbeVerdict {
  const v: Violation[] = [];
  const warnings: Violation[] = [];
  const ignored: IgnoredStream[] = [];
  const names = demuxerNames(p.formatName);
  if (!names.some((n) => rules.formats.includes(n))) {
    v.push({ rule: 'input.format', actual: p.formatName, limit: rules.formats, message: `container format "${p.formatName}" is not allowed`, hint: tighter });
  }
  if (magicType !== undefined) {
    const fm = familyOfMagic(magicType);
    if (fm === undefined || !demuxerInFamily(p.formatName, fm)) {
      const mismatch: Violation = {
        rule: 'input.magic-format',
        actual: `bytes "${magicType}", demuxer "${p.formatName}"`,
        limit: 'the demuxer ffprobe picks must agree with the magic bytes',
        message: `the file's bytes say "${magicType}" but ffprobe parses it as "${p.formatName}" (a polyglot or a disguised file)`,
        hint: 'do not process this file; find out where it came from',
      };
      (rules.requireMagicMatchesFormat ? v : warnings).push(mismatch);
    }
  }
  if (p.streams.length === 0) {
    v.push({ rule: 'input.streams', actual: 0, limit: '>= 1', message: 'the file has no audio or video streams', hint: 'pass a file with media in it' });
  }
  const streamCount = Math.max(p.streams.length, p.nbStreams);
  if (streamCount > rules.maxStreams) {
    v.push({ rule: 'input.maxStreams', actual: streamCount, limit: rules.maxStreams, message: `${streamCount} streams, over the limit of ${rules.maxStreams}`, hint: tighter });
  }
  const limitNum = (rule: InputRuleId, what: string, actual: number | undefined, limit: number, unit = ''): void => {
    if (actual !== undefined && actual > limit) {
      v.push({ rule, actual, limit, message: `${what} ${actual}${unit} is over the limit of ${limit}${unit}`, hint: tighter });
    }
  };
  for (const s of p.streams.slice(0, rules.maxStreams + 1)) {
    const where = `stream #${s.index}`;
    const kind = kindOf(s.codecType);
    if (used !== undefined && !used.has(s.index) && kind !== undefined) {
      const action = unusedStreamAction(rules.unusedStreams, kind);
      if (action === 'ignore') {
        ignored.push({ index: s.index, type: s.codecType, codec: s.codecName });
        continue;
      }
      if (action === 'refuse') {
        v.push({ rule: 'input.unusedStreams', actual: `${where}: ${s.codecType} ${s.codecName ?? ''}`.trim(), limit: 'only streams the job reads', message: `${where} is a ${s.codecType} stream the job does not read; this policy refuses files that carry such streams`, hint: 'remove the stream first (e.g. mkvmerge, or ffmpeg -map), or use a policy that ignores unused streams' });
        continue;
      }
    }
    switch (s.codecType) {
      case 'video':
      case 'audio':
      case 'subtitle': {
        const allowed = rules.codecs[s.codecType];
        if (s.codecName === undefined || !allowed.includes(s.codecName)) {
          v.push({ rule: `input.codecs.${s.codecType}`, actual: s.codecName ?? 'unknown', limit: allowed, message: `${where}: ${s.codecType} codec "${s.codecName ?? 'unknown'}" is not allowed`, hint: tighter });
        }
        break;
      }
      case 'attachment':
        if (!rules.allowAttachments) v.push({ rule: 'input.allowAttachments', actual: s.codecName ?? 'attachment', limit: false, message: `${where} is an attachment (embedded file)`, hint: 'remove attachments, or use a policy that allows them' });
        break;
      case 'data':
        if (!rules.allowDataStreams) v.push({ rule: 'input.allowDataStreams', actual: s.codecName ?? 'data', limit: false, message: `${where} is a data stream`, hint: 'remove data streams, or use a policy that allows them' });
        break;
      default:
        v.push({ rule: 'input.streamType', actual: s.codecType, limit: ['video', 'audio'], message: `${where} has unknown type "${s.codecType}"`, hint: 'do not process this file' });
    }
    if (s.codecType === 'video') {
      if (!s.width || !s.height) {
        v.push({
          rule: 'input.dimensions',
          actual: `${s.width ?? 'unknown'} x ${s.height ?? 'unknown'}`,
          limit: 'known, non-zero dimensions',
          message: `${where}: ffprobe could not establish the picture size (a decoder refused the header, or the stream is broken)`,
          hint: 'the file is refused: its header is invalid or declares a size no decoder accepts',
        });
      }
      limitNum('input.maxWidth', `${where}: width`, s.width, rules.maxWidth, ' px');
      limitNum('input.maxHeight', `${where}: height`, s.height, rules.maxHeight, ' px');
      if (s.width !== undefined && s.height !== undefined) limitNum('input.maxPixels', `${where}: pixel count`, s.width * s.height, rules.maxPixels);
      if (!s.attachedPic) limitNum('input.maxFrameRate', `${where}: frame rate`, s.frameRate === undefined ? undefined : Math.round(s.frameRate * 1000) / 1000, rules.maxFrameRate, ' fps');
    }
    if (s.codecType === 'audio') {
      limitNum('input.maxSampleRate', `${where}: sample rate`, s.sampleRate, rules.maxSampleRate, ' Hz');
      limitNum('input.maxChannels', `${where}: channels`, s.channels, rules.maxChannels);
    }
    limitNum('input.maxDurationSeconds', `${where}: duration`, s.duration, rules.maxDurationSeconds, ' s');
    limitNum('input.maxBitrate', `${where}: bitrate`, s.bitRate, rules.maxBitrate, ' bit/s');
  }
  limitNum('input.maxDurationSeconds', 'duration', p.duration, rules.maxDurationSeconds, ' s');
  limitNum('input.maxBitrate', 'bitrate', p.bitRate, rules.maxBitrate, ' bit/s');
  const { entries, bytes } = metadataSize(p);
  limitNum('input.maxMetadataEntries', 'metadata entries:', entries, rules.maxMetadataEntries);
  limitNum('input.maxMetadataBytes', 'metadata size:', bytes, rules.maxMetadataBytes, ' bytes');
  return { violations: dedupe(v), warnings, ignored };
}

export function metadataSize(p: ProbeResult): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const tags of [p.tags, ...p.streams.map((s) => s.tags), ...p.chapterTags]) {
    for (const [k, val] of Object.entries(tags)) {
      entries++;
      bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
    }
  }
  return { entries, bytes: bytes + p.chapters * 64 };
}

/** Per-stream duplicates of the same rule collapse into one violation with a count. */
function dedupe(v: Violation[]): Violation[] {
  const seen = new Map<string, number>();
  const out: Violation[] = [];
  for (const x of v) {
    const key = `${x.rule}|${JSON.stringify(x.actual)}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    if (n === 0) out.push(x);
  }
  return out.slice(0, 50);
}

/** Pure: the image header's declared size against the policy (whatever ffprobe could report). */
export function checkDeclaredDimensions(declared: { width: number; height: number } | undefined, rules: InputConfig): Violation[] {
  if (!declared) return [];
  const v: Violation[] = [];
  const { width, height } = declared;
  const say = (rule: InputRuleId, what: string, actual: number, limit: number): void => {
    if (actual > limit) v.push({ rule, actual, limit, message: `the image header declares a ${what} of ${actual}, over the limit of ${limit}`, hint: 'a decompression bomb: the file is refused before any decoder allocates for it' });
  };
  say('input.maxWidth', 'width', width, rules.maxWidth);
  say('input.maxHeight', 'height', height, rules.maxHeight);
  say('input.maxPixels', 'pixel count', width * height, rules.maxPixels);
  if (width === 0 || height === 0) v.push({ rule: 'input.dimensions', actual: `${width} x ${height}`, limit: 'non-zero dimensions', message: 'the image header declares an empty picture', hint: 'the file is malformed' });
  return v;
}

const STRUCTURE_HINTS: Readonly<Record<StructureProblemKind, string>> = {
  truncated: 'the file is truncated or its header lies about its size; get an intact copy',
  'inconsistent-size': 'a size field in the header disagrees with the data; rewrite the file with a tool that fixes its header (e.g. sox in.wav out.wav)',
  'trailing-data': 'the file carries a second file after its end (a polyglot); it is refused',
  malformed: 'the container\'s framing is damaged or crafted; get an intact copy, or re-mux it (ffmpeg -c copy)',
  unverified: 'the walk cannot prove where every byte of this file belongs; re-mux it (ffmpeg -c copy) into a file with complete sizes',
};

/**
 * Pure: the container walk's findings. Where the policy demands that a file be exactly what its
 * magic says (requireMagicMatchesFormat, advanced and above) they refuse; otherwise they warn.
 * A structure that could not be verified (input.structure.unverified) is decided the same way:
 * refused at the strict stages, a warning at initial. A walker that ran and says it did not
 * reach a verdict on every byte is unverified too (a safety net: walkers report why instead).
 */
export function checkStructure(report: StructureReport, rules: InputConfig): { violations: Violation[]; warnings: Violation[] } {
  const problems: StructureProblem[] = [...report.problems];
  if (report.walker !== undefined && !report.complete && problems.length === 0) {
    problems.push({ kind: 'unverified', offset: 0, message: `the ${report.walker} walk did not account for every byte of the file` });
  }
  const out: Violation[] = problems.map((p) => ({
    rule: p.kind === 'unverified' ? 'input.structure.unverified' : 'input.structure',
    actual: `${p.kind} at byte ${p.offset}`,
    limit: p.kind === 'unverified' ? `a ${report.walker ?? 'container'} structure verified to its last byte` : `a well-formed ${report.walker ?? 'container'} that ends where the file ends`,
    message: p.message,
    hint: STRUCTURE_HINTS[p.kind],
  }));
  return rules.requireMagicMatchesFormat ? { violations: out, warnings: [] } : { violations: [], warnings: out };
}

/** Pure: playlist or script markers found inside a media file (a smuggled playlist). */
export function checkEmbedded(markers: readonly EmbeddedMarker[], rules: InputConfig): { violations: Violation[]; warnings: Violation[] } {
  if (markers.length === 0) return { violations: [], warnings: [] };
  const first = markers[0]!;
  const v: Violation = {
    rule: 'input.embedded-playlist',
    actual: markers.map((m) => `"${m.marker}" at byte ${m.offset}`).join(', '),
    limit: 'no playlist or demuxer script inside a media file',
    message: `the file carries a playlist or demuxer script ("${first.marker}" at byte ${first.offset}): an HLS/concat payload smuggled inside another container`,
    hint: 'do not process this file; find out where it came from',
  };
  return rules.requireMagicMatchesFormat ? { violations: [v], warnings: [] } : { violations: [], warnings: [v] };
}
