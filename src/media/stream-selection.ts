/**
 * Which streams of the input a job reads: the streams its output arguments map. The rules on
 * codecs, subtitles, attachments and data streams apply to those; the others are never mapped
 * (the plan disables them in ffmpeg with -discard, so no argument can reach them) and never
 * decoded (their decoders stay out of the codec whitelist).
 *
 * Resolving is conservative: whatever this cannot follow exactly (a filter graph, a stream
 * specifier by program, id, metadata or disposition) counts every stream as read, so an error
 * here judges more streams, never fewer. ffmpeg's own -map semantics are mirrored for the rest:
 *   -map 0            every stream
 *   -map 0:v / a / s / d / t / V   every stream of that type (V: video that is not an attached picture)
 *   -map 0:3          the stream with index 3
 *   -map 0:v:1        the second video stream
 *   -map -0:s         removes what an earlier -map added; a trailing ? changes nothing here
 * Without any -map, ffmpeg picks one video, one audio and one subtitle stream itself: every
 * stream of those types counts as read (and every data stream: ffmpeg may pick one whose codec
 * matches the muxer's).
 * Pure.
 */

export interface SelectableStream {
  readonly index: number;
  readonly codecType: string;
  readonly attachedPic: boolean;
}

/** Options whose presence means streams are read in ways -map does not describe. */
const GRAPH_OPTIONS = new Set(['-filter_complex', '-lavfi', '-filter_complex_script']);

const TYPE_LETTERS: Readonly<Record<string, (s: SelectableStream) => boolean>> = {
  v: (s) => s.codecType === 'video',
  V: (s) => s.codecType === 'video' && !s.attachedPic,
  a: (s) => s.codecType === 'audio',
  s: (s) => s.codecType === 'subtitle',
  d: (s) => s.codecType === 'data',
  t: (s) => s.codecType === 'attachment',
};

/** The streams one -map value (without its leading "-" for a negative map) names. */
function mapMatches(value: string, streams: readonly SelectableStream[]): readonly SelectableStream[] {
  const m = /^0(?::(.*?))?\??$/.exec(value);
  if (!m) return streams; // a filter-graph label, or another input: conservative
  const spec = m[1];
  if (spec === undefined || spec === '') return streams;
  const parts = spec.split(':');
  const [first, second, ...rest] = parts;
  if (rest.length > 0 || first === undefined) return streams;
  if (/^\d+$/.test(first) && second === undefined) return streams.filter((s) => s.index === Number(first));
  const ofType = TYPE_LETTERS[first];
  if (!ofType) return streams;
  const typed = streams.filter(ofType);
  if (second === undefined) return typed;
  if (!/^\d+$/.test(second)) return streams;
  const nth = typed[Number(second)];
  return nth ? [nth] : [];
}

/** Pure: the indexes of the streams these output arguments make ffmpeg read. */
export function selectedStreams(outputArgs: readonly string[], streams: readonly SelectableStream[]): Set<number> {
  if (outputArgs.some((a) => GRAPH_OPTIONS.has(a.split(':')[0] ?? a))) return new Set(streams.map((s) => s.index));
  const maps: string[] = [];
  outputArgs.forEach((a, i) => {
    if (a === '-map' && outputArgs[i + 1] !== undefined) maps.push(outputArgs[i + 1]!);
  });
  if (maps.length === 0) {
    const off = new Set(['-vn', '-an', '-sn', '-dn'].filter((f) => outputArgs.includes(f)).map((f) => f[1]));
    return new Set(streams.filter((s) => ['video', 'audio', 'subtitle', 'data'].includes(s.codecType) && !off.has(s.codecType[0])).map((s) => s.index));
  }
  const used = new Set<number>();
  for (const m of maps) {
    const negative = m.startsWith('-');
    for (const s of mapMatches(negative ? m.slice(1) : m, streams)) {
      if (negative) used.delete(s.index);
      else used.add(s.index);
    }
  }
  return used;
}

/** Pure: the streams any of several argument lists reads (the targets of one operation, for `check`). */
export function selectedByAny(argLists: ReadonlyArray<readonly string[]>, streams: readonly SelectableStream[]): Set<number> {
  const used = new Set<number>();
  for (const args of argLists) for (const i of selectedStreams(args, streams)) used.add(i);
  return used;
}
