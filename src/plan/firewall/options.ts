/**
 * The ffmpeg 5.1 output options the argument firewall understands: the
 * catalogue of options, their aliases, and how an option token is looked up.
 *
 * This table is the universe of passthrough options: an option that is not in
 * OPTIONS (directly or as an alias) is refused as unknown, never guessed. A
 * policy's allow-list can only narrow it. The options refused whatever a
 * policy says are in denials.ts; the rules that check values in values.ts.
 *
 * Why `takesValue` must be exact: ffmpeg consumes the next argv element as the
 * value of an option that takes one, whatever it looks like (`-c:v -i` makes
 * "-i" a codec name). If this table disagreed with ffmpeg, the firewall and
 * ffmpeg would read the same argv differently and a hidden argument (a second
 * output, say) could slip through. Every entry was checked against the real
 * ffmpeg 5.1 (`ffmpeg -OPT -version` prints the version only when OPT takes no
 * value); test/unit/firewall-ffmpeg.test.ts repeats that check.
 *
 * Two kinds of ffmpeg options: native ones (fftools OptionDef: -c, -map, -vf…)
 * and AVOptions of codecs, muxers and scalers (-crf, -preset, -movflags…),
 * which ffmpeg looks up when no native option matches and which ALWAYS take a
 * value.
 */
import { deniedOption, type DeniedOption } from './denials.js';

/** How an option's value is read and checked. */
export type OptionKind =
  | 'flag' // no value
  | 'codec' // an encoder name, checked against the policy's encoders
  | 'muxer' // a muxer name, checked against the policy's muxers
  | 'filtergraph' // parsed and every filter checked
  | 'int'
  | 'number'
  | 'bitrate' // 128k, 2.5M, 1000000
  | 'duration' // 10, 2.5, 00:01:02.5, 500ms
  | 'size' // 1280x720 or an abbreviation (hd720)
  | 'rate' // 30, 30000/1001, ntsc
  | 'aspect' // 16:9, 1.7777
  | 'pixfmt'
  | 'samplefmt'
  | 'chlayout' // stereo, 5.1(side), 0x3
  | 'token' // a short word: preset, tune, profile, level…
  | 'flags' // +faststart, +frag_keyframe+empty_moov
  | 'map' // -map 0:v:0?, -map [label]
  | 'mapMetadata' // -map_metadata 0:g, -1
  | 'mapChapters' // 0 or -1
  | 'metadata' // key=value
  | 'path' // a file path, must stay inside the job directory
  | 'disposition' // default, +default-forced, 0
  | 'forceKeyFrames' // expr:…, source, chapters, a list of times
  | 'timecode'; // hh:mm:ss[:;.]ff

export interface OptionSpec {
  /** Whether ffmpeg consumes the next argv element as this option's value. */
  readonly takesValue: boolean;
  readonly kind: OptionKind;
  /** Whether a stream specifier (`-b:v`, `-c:a:0`) is accepted. */
  readonly perStream: boolean;
  /** Native ffmpeg option or an AVOption (codec/muxer/scaler private option). */
  readonly source: 'native' | 'avoption';
  /** For int/number kinds: inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** For token kinds with a closed set of values. */
  readonly values?: readonly string[];
}

export interface AliasSpec {
  /** The canonical option this alias stands for. */
  readonly aliasOf: string;
  /** The stream specifier the alias implies (`-vcodec` = `-c:v`), if any. */
  readonly spec?: string;
}

const native = (kind: OptionKind, perStream: boolean, extra: Partial<OptionSpec> = {}): OptionSpec => ({
  takesValue: kind !== 'flag',
  kind,
  perStream,
  source: 'native',
  ...extra,
});

/** AVOptions always take a value in ffmpeg's command line, even boolean ones. */
const avopt = (kind: Exclude<OptionKind, 'flag'>, perStream: boolean, extra: Partial<OptionSpec> = {}): OptionSpec => ({
  takesValue: true,
  kind,
  perStream,
  source: 'avoption',
  ...extra,
});

/** Canonical options, by name without the leading dash and without stream specifier. */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  // --- stream selection and codecs (native)
  c: native('codec', true),
  map: native('map', false),
  map_metadata: native('mapMetadata', true),
  map_chapters: native('mapChapters', false),
  vn: native('flag', false),
  an: native('flag', false),
  sn: native('flag', false),
  dn: native('flag', false),
  f: native('muxer', false),
  // --- filters (native)
  filter: native('filtergraph', true),
  filter_complex: native('filtergraph', false),
  // --- timing (native)
  t: native('duration', false),
  to: native('duration', false),
  ss: native('duration', false),
  frames: native('int', true, { min: 0, max: 1e9 }),
  shortest: native('flag', false),
  fps_mode: native('token', true, { values: ['passthrough', 'cfr', 'vfr', 'drop', 'auto'] }),
  // --- video (native)
  r: native('rate', true),
  s: native('size', true),
  aspect: native('aspect', true),
  pix_fmt: native('pixfmt', true),
  q: native('number', true, { min: -1, max: 1000 }),
  profile: native('token', true),
  pass: native('int', true, { min: 1, max: 3 }),
  passlogfile: native('path', true),
  force_key_frames: native('forceKeyFrames', true),
  top: native('int', true, { min: -1, max: 1 }),
  tag: native('token', true),
  timecode: native('timecode', false),
  // --- audio (native)
  ar: native('int', true, { min: 1000, max: 768000 }),
  ac: native('int', true, { min: 1, max: 64 }),
  aq: native('number', false, { min: -100, max: 1000 }),
  sample_fmt: native('samplefmt', true),
  ch_layout: native('chlayout', true),
  // --- output file (native)
  metadata: native('metadata', true),
  disposition: native('disposition', true),
  bitexact: native('flag', false),
  fs: native('bitrate', false),
  max_muxing_queue_size: native('int', true, { min: 1, max: 1 << 20 }),
  filter_threads: native('int', false, { min: 1, max: 64 }),
  filter_complex_threads: native('int', false, { min: 1, max: 64 }),
  // --- generic codec AVOptions (per stream)
  b: avopt('bitrate', true),
  maxrate: avopt('bitrate', true),
  minrate: avopt('bitrate', true),
  bufsize: avopt('bitrate', true),
  g: avopt('int', true, { min: -1, max: 100000 }),
  keyint_min: avopt('int', true, { min: 0, max: 100000 }),
  bf: avopt('int', true, { min: -1, max: 16 }),
  refs: avopt('int', true, { min: 0, max: 16 }),
  sc_threshold: avopt('int', true, { min: -1000000000, max: 1000000000 }),
  qmin: avopt('int', true, { min: -1, max: 1024 }),
  qmax: avopt('int', true, { min: -1, max: 1024 }),
  level: avopt('token', true),
  threads: avopt('int', true, { min: 1, max: 1024 }),
  compression_level: avopt('int', true, { min: -1, max: 100 }),
  cutoff: avopt('int', true, { min: 0, max: 192000 }),
  frame_size: avopt('int', true, { min: 0, max: 1 << 20 }),
  flags: avopt('flags', true),
  strict: avopt('token', true, {
    values: ['very', 'strict', 'normal', 'unofficial', 'experimental', '2', '1', '0', '-1', '-2'],
  }),
  color_primaries: avopt('token', true),
  color_trc: avopt('token', true),
  colorspace: avopt('token', true),
  color_range: avopt('token', true),
  // --- encoder-private AVOptions (x264/x265/vpx/aom/svtav1/opus/…)
  crf: avopt('number', true, { min: -1, max: 63 }),
  qp: avopt('int', true, { min: -1, max: 255 }),
  preset: avopt('token', true),
  tune: avopt('token', true),
  deadline: avopt('token', true, { values: ['best', 'good', 'realtime'] }),
  quality: avopt('token', true, { values: ['best', 'good', 'realtime'] }),
  'cpu-used': avopt('int', true, { min: -16, max: 16 }),
  'row-mt': avopt('token', true, { values: ['0', '1', 'true', 'false'] }),
  'tile-columns': avopt('int', true, { min: -1, max: 6 }),
  'tile-rows': avopt('int', true, { min: -1, max: 6 }),
  'lag-in-frames': avopt('int', true, { min: -1, max: 70 }),
  'auto-alt-ref': avopt('int', true, { min: -1, max: 6 }),
  'aq-mode': avopt('int', true, { min: -1, max: 4 }),
  'rc-lookahead': avopt('int', true, { min: -1, max: 250 }),
  lossless: avopt('int', true, { min: -1, max: 1 }),
  application: avopt('token', true, { values: ['voip', 'audio', 'lowdelay'] }),
  vbr: avopt('token', true, { values: ['off', 'on', 'constrained', '0', '1', '2', '3', '4', '5'] }),
  frame_duration: avopt('number', true, { min: 2.5, max: 120 }),
  // --- muxer AVOptions (whole file)
  movflags: avopt('flags', false),
  avoid_negative_ts: avopt('token', false, { values: ['auto', 'disabled', 'make_non_negative', 'make_zero', '-1', '0', '1', '2'] }),
  max_interleave_delta: avopt('int', false, { min: 0, max: 1e12 }),
  // --- scaler AVOption
  sws_flags: avopt('flags', false),
};

/** Aliases: name → canonical option and the stream specifier it implies. */
export const ALIASES: Readonly<Record<string, AliasSpec>> = {
  codec: { aliasOf: 'c' },
  vcodec: { aliasOf: 'c', spec: 'v' },
  acodec: { aliasOf: 'c', spec: 'a' },
  scodec: { aliasOf: 'c', spec: 's' },
  dcodec: { aliasOf: 'c', spec: 'd' },
  vf: { aliasOf: 'filter', spec: 'v' },
  af: { aliasOf: 'filter', spec: 'a' },
  lavfi: { aliasOf: 'filter_complex' },
  vframes: { aliasOf: 'frames', spec: 'v' },
  aframes: { aliasOf: 'frames', spec: 'a' },
  dframes: { aliasOf: 'frames', spec: 'd' },
  qscale: { aliasOf: 'q' },
  channel_layout: { aliasOf: 'ch_layout' },
  vtag: { aliasOf: 'tag', spec: 'v' },
  atag: { aliasOf: 'tag', spec: 'a' },
  stag: { aliasOf: 'tag', spec: 's' },
};

/** `-noX` negations: ffmpeg accepts them for native booleans. We refuse them (see scan.ts). */
export const NEGATION_PREFIX = 'no';

export type ResolvedOption =
  | {
      readonly status: 'known';
      /** The name as written, without dash and specifier. */
      readonly written: string;
      /** The canonical table name. */
      readonly canonical: string;
      /** The stream specifier as written (after the first ':'), if any. */
      readonly writtenSpec: string | undefined;
      /** The stream specifier implied by an alias (vcodec → v), if any. */
      readonly aliasSpec: string | undefined;
      readonly spec: OptionSpec;
    }
  | { readonly status: 'denied'; readonly written: string; readonly writtenSpec: string | undefined; readonly denial: DeniedOption }
  | { readonly status: 'negation'; readonly written: string; readonly writtenSpec: string | undefined; readonly negated: string }
  | { readonly status: 'unknown'; readonly written: string; readonly writtenSpec: string | undefined };

/**
 * Split an option token (`-c:v:0`) the way ffmpeg does: drop exactly one
 * leading dash, the name runs to the first ':', the rest is the specifier.
 * The caller guarantees `token` starts with '-' and is longer than one char.
 */
export function splitOptionToken(token: string): { name: string; spec: string | undefined } {
  const body = token.slice(1);
  const colon = body.indexOf(':');
  return colon < 0 ? { name: body, spec: undefined } : { name: body.slice(0, colon), spec: body.slice(colon + 1) };
}

/** Look an option token up: known (possibly via alias), hard-denied, a `-noX` negation, or unknown. */
export function resolveOption(token: string): ResolvedOption {
  const { name, spec } = splitOptionToken(token);
  const denied = deniedOption(name);
  if (denied) return { status: 'denied', written: name, writtenSpec: spec, denial: denied };
  const alias = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
  const canonical = alias ? alias.aliasOf : name;
  const entry = Object.hasOwn(OPTIONS, canonical) ? OPTIONS[canonical] : undefined;
  if (entry) {
    return { status: 'known', written: name, canonical, writtenSpec: spec, aliasSpec: alias?.spec, spec: entry };
  }
  if (name.startsWith(NEGATION_PREFIX) && name.length > NEGATION_PREFIX.length) {
    const rest = name.slice(NEGATION_PREFIX.length);
    const restEntry = Object.hasOwn(OPTIONS, rest) ? OPTIONS[rest] : undefined;
    // A family (pattern) denial is an AVOption and takes a value, so only the table's flags count here.
    const restDenied = deniedOption(rest);
    if ((restEntry && restEntry.kind === 'flag') || (restDenied && restDenied.consumes === 'none')) {
      return { status: 'negation', written: name, writtenSpec: spec, negated: rest };
    }
  }
  return { status: 'unknown', written: name, writtenSpec: spec };
}
