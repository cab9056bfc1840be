/**
 * The ffmpeg 5.1 output options the argument firewall understands, and the
 * options it refuses whatever a policy says.
 *
 * This table is the universe of passthrough options: an option that is not in
 * OPTIONS (directly or as an alias) is refused as unknown, never guessed. A
 * policy's allow-list can only narrow it. The table is pure data; the rules
 * that use it live in firewall.ts.
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

/** Why an option is refused whatever the policy says. Also the firewall's rule id. */
export type DenialRule =
  | 'firewall.extra-input'
  | 'firewall.file-option'
  | 'firewall.network-option'
  | 'firewall.wrapper-owned'
  | 'firewall.device'
  | 'firewall.denied-option';

export interface DeniedOption {
  readonly rule: DenialRule;
  /**
   * How ffmpeg consumes the following argument: 'value' (always), 'none', or
   * 'optional' (informational options such as -h swallow the next argument
   * whatever it is). Needed so that parsing stays in step with ffmpeg after a
   * refusal and every later violation is still reported.
   */
  readonly consumes: 'value' | 'none' | 'optional';
  readonly why: string;
}

const d = (rule: DenialRule, consumes: DeniedOption['consumes'], why: string): DeniedOption => ({ rule, consumes, why });

const INFO_WHY = 'prints information and exits instead of transcoding';
const PARAMS_WHY =
  'passes raw options to an external encoder library, some of which read or write files (stats, qpfile, dump, csv)';
const DEVICE_WHY = 'opens a hardware device; the sandbox exposes none and the wrapper decides about hardware';

/** Options refused whatever the allow-list says. Keys are names without the dash or specifier. */
export const DENIED_OPTIONS: Readonly<Record<string, DeniedOption>> = {
  i: d('firewall.extra-input', 'value', 'adds an input; zt-ffmpeg supplies the only input'),
  // files read or written besides the one output
  report: d('firewall.file-option', 'none', 'writes a report file into the working directory'),
  filter_script: d('firewall.file-option', 'value', 'reads a filtergraph from a file, out of the firewall\'s sight'),
  filter_complex_script: d('firewall.file-option', 'value', 'reads a filtergraph from a file, out of the firewall\'s sight'),
  attach: d('firewall.file-option', 'value', 'reads a file and embeds it in the output'),
  dump_attachment: d('firewall.file-option', 'value', 'writes attachments of the input to files'),
  vstats: d('firewall.file-option', 'none', 'writes a statistics file'),
  vstats_file: d('firewall.file-option', 'value', 'writes a statistics file'),
  vstats_version: d('firewall.file-option', 'value', 'only meaningful with -vstats, which is refused'),
  sdp_file: d('firewall.file-option', 'value', 'writes an SDP file'),
  stats_enc_pre: d('firewall.file-option', 'value', 'writes a statistics file'),
  stats_enc_post: d('firewall.file-option', 'value', 'writes a statistics file'),
  stats_mux_pre: d('firewall.file-option', 'value', 'writes a statistics file'),
  stats_enc_pre_fmt: d('firewall.file-option', 'value', 'only meaningful with the -stats_* files, which are refused'),
  stats_enc_post_fmt: d('firewall.file-option', 'value', 'only meaningful with the -stats_* files, which are refused'),
  stats_mux_pre_fmt: d('firewall.file-option', 'value', 'only meaningful with the -stats_* files, which are refused'),
  pre: d('firewall.file-option', 'value', 'reads options from a preset file'),
  vpre: d('firewall.file-option', 'value', 'reads options from a preset file'),
  apre: d('firewall.file-option', 'value', 'reads options from a preset file'),
  spre: d('firewall.file-option', 'value', 'reads options from a preset file'),
  fpre: d('firewall.file-option', 'value', 'reads options from a preset file'),
  progress: d('firewall.file-option', 'value', 'writes progress to a file or URL; the wrapper owns progress reporting'),
  x264opts: d('firewall.file-option', 'value', PARAMS_WHY),
  'x264-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'x265-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'svtav1-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'aom-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'rav1e-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'kvazaar-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'xavs2-params': d('firewall.file-option', 'value', PARAMS_WHY),
  'vvenc-params': d('firewall.file-option', 'value', PARAMS_WHY),
  master_pl_name: d('firewall.file-option', 'value', 'writes an extra playlist file'),
  master_pl_publish_rate: d('firewall.file-option', 'value', 'belongs to the HLS muxer, which is refused'),
  var_stream_map: d('firewall.file-option', 'value', 'writes one output per variant stream'),
  cc_stream_map: d('firewall.file-option', 'value', 'belongs to the HLS muxer, which is refused'),
  init_seg_name: d('firewall.file-option', 'value', 'writes extra segment files'),
  media_seg_name: d('firewall.file-option', 'value', 'writes extra segment files'),
  adaptation_sets: d('firewall.file-option', 'value', 'belongs to the DASH muxer, which is refused'),
  single_file_name: d('firewall.file-option', 'value', 'writes extra files'),
  strftime: d('firewall.file-option', 'value', 'expands output names into many files'),
  strftime_mkdir: d('firewall.file-option', 'value', 'creates directories'),
  use_localtime: d('firewall.file-option', 'value', 'expands output names into many files'),
  use_localtime_mkdir: d('firewall.file-option', 'value', 'creates directories'),
  fifo_format: d('firewall.file-option', 'value', 'belongs to the fifo muxer, which is refused'),
  update: d('firewall.file-option', 'value', 'belongs to the image2 muxer, which is refused'),
  // network
  method: d('firewall.network-option', 'value', 'sets the HTTP method used to upload the output'),
  headers: d('firewall.network-option', 'value', 'sets HTTP headers for network output'),
  user_agent: d('firewall.network-option', 'value', 'sets the HTTP user agent for network output'),
  timeout: d('firewall.network-option', 'value', 'configures network I/O'),
  listen: d('firewall.network-option', 'value', 'makes the output a network server'),
  // the wrapper's own hardening and housekeeping
  y: d('firewall.wrapper-owned', 'none', 'decides about overwriting; the wrapper writes to a private job directory and publishes atomically'),
  n: d('firewall.wrapper-owned', 'none', 'decides about overwriting; the wrapper writes to a private job directory and publishes atomically'),
  stdin: d('firewall.wrapper-owned', 'none', 'controls interaction on standard input; the wrapper always passes -nostdin'),
  nostdin: d('firewall.wrapper-owned', 'none', 'is always passed by the wrapper'),
  stats: d('firewall.wrapper-owned', 'none', 'controls progress output, which the wrapper owns'),
  nostats: d('firewall.wrapper-owned', 'none', 'controls progress output, which the wrapper owns'),
  stats_period: d('firewall.wrapper-owned', 'value', 'controls progress output, which the wrapper owns'),
  loglevel: d('firewall.wrapper-owned', 'value', 'sets the log level, which the wrapper owns (its monitor reads the diagnostics)'),
  v: d('firewall.wrapper-owned', 'value', 'sets the log level, which the wrapper owns (its monitor reads the diagnostics)'),
  hide_banner: d('firewall.wrapper-owned', 'none', 'is the wrapper\'s choice'),
  protocol_whitelist: d('firewall.wrapper-owned', 'value', 'overrides the wrapper\'s protocol whitelist (file only)'),
  protocol_blacklist: d('firewall.wrapper-owned', 'value', 'overrides the wrapper\'s protocol whitelist (file only)'),
  format_whitelist: d('firewall.wrapper-owned', 'value', 'overrides the wrapper\'s demuxer pinning'),
  codec_whitelist: d('firewall.wrapper-owned', 'value', 'overrides the wrapper\'s decoder choice'),
  timelimit: d('firewall.wrapper-owned', 'value', 'sets a CPU limit; the wrapper owns resource limits'),
  max_alloc: d('firewall.wrapper-owned', 'value', 'sets a memory limit; the wrapper owns resource limits'),
  cpuflags: d('firewall.wrapper-owned', 'value', 'changes CPU feature detection'),
  cpucount: d('firewall.wrapper-owned', 'value', 'changes CPU count detection'),
  // hardware
  hwaccel: d('firewall.device', 'value', DEVICE_WHY),
  hwaccel_device: d('firewall.device', 'value', DEVICE_WHY),
  hwaccel_output_format: d('firewall.device', 'value', DEVICE_WHY),
  init_hw_device: d('firewall.device', 'value', DEVICE_WHY),
  filter_hw_device: d('firewall.device', 'value', DEVICE_WHY),
  vaapi_device: d('firewall.device', 'value', DEVICE_WHY),
  qsv_device: d('firewall.device', 'value', DEVICE_WHY),
  // diagnostics that flood or change global state
  benchmark: d('firewall.denied-option', 'none', 'prints timing diagnostics; not needed to transcode'),
  benchmark_all: d('firewall.denied-option', 'none', 'prints timing diagnostics; not needed to transcode'),
  dump: d('firewall.denied-option', 'none', 'dumps every packet to the log, flooding the diagnostics the monitor reads'),
  hex: d('firewall.denied-option', 'none', 'dumps packet payloads to the log, flooding the diagnostics the monitor reads'),
  debug_ts: d('firewall.denied-option', 'none', 'floods the log with timestamp diagnostics'),
  debug: d('firewall.denied-option', 'value', 'raises the global log level to debug and turns on codec debug dumps, flooding the diagnostics the monitor reads'),
  fdebug: d('firewall.denied-option', 'value', 'raises the global log level to debug, flooding the diagnostics the monitor reads'),
  qphist: d('firewall.denied-option', 'none', 'prints diagnostics; not needed to transcode'),
  psnr: d('firewall.denied-option', 'none', 'prints diagnostics; not needed to transcode'),
  target: d('firewall.denied-option', 'value', 'silently sets many options (format, codecs, rates) that the firewall would not see'),
  // informational options: print and exit, and swallow the next argument
  L: d('firewall.denied-option', 'optional', INFO_WHY),
  h: d('firewall.denied-option', 'optional', INFO_WHY),
  '?': d('firewall.denied-option', 'optional', INFO_WHY),
  help: d('firewall.denied-option', 'optional', INFO_WHY),
  '-help': d('firewall.denied-option', 'optional', INFO_WHY),
  version: d('firewall.denied-option', 'optional', INFO_WHY),
  buildconf: d('firewall.denied-option', 'optional', INFO_WHY),
  formats: d('firewall.denied-option', 'optional', INFO_WHY),
  muxers: d('firewall.denied-option', 'optional', INFO_WHY),
  demuxers: d('firewall.denied-option', 'optional', INFO_WHY),
  devices: d('firewall.denied-option', 'optional', INFO_WHY),
  codecs: d('firewall.denied-option', 'optional', INFO_WHY),
  decoders: d('firewall.denied-option', 'optional', INFO_WHY),
  encoders: d('firewall.denied-option', 'optional', INFO_WHY),
  bsfs: d('firewall.denied-option', 'optional', INFO_WHY),
  protocols: d('firewall.denied-option', 'optional', INFO_WHY),
  filters: d('firewall.denied-option', 'optional', INFO_WHY),
  pix_fmts: d('firewall.denied-option', 'optional', INFO_WHY),
  layouts: d('firewall.denied-option', 'optional', INFO_WHY),
  sample_fmts: d('firewall.denied-option', 'optional', INFO_WHY),
  dispositions: d('firewall.denied-option', 'optional', INFO_WHY),
  colors: d('firewall.denied-option', 'optional', INFO_WHY),
  sources: d('firewall.denied-option', 'optional', INFO_WHY),
  sinks: d('firewall.denied-option', 'optional', INFO_WHY),
  hwaccels: d('firewall.denied-option', 'optional', INFO_WHY),
};

/**
 * Families of AVOptions that belong to muxers and protocols which write extra
 * files or reach the network (hls_time, segment_list, http_persistent…). They
 * are AVOptions, so they always take a value.
 */
export const DENIED_OPTION_PATTERNS: ReadonlyArray<{ readonly pattern: RegExp; readonly rule: DenialRule; readonly why: string }> = [
  { pattern: /^(hls|segment|dash|hds|webm_chunk|chunk|smoothstreaming|lhls|ldash|fifo|tee)_/, rule: 'firewall.file-option', why: 'belongs to a muxer that writes extra files (playlists, segments)' },
  { pattern: /^(http|https|rtsp|rtmp|rtp|srt|tls|tcp|udp|icy|ftp|sftp|smb|ssh|zmq|rist)_/, rule: 'firewall.network-option', why: 'configures network I/O; outputs never reach the network' },
];

/** `-noX` negations: ffmpeg accepts them for native booleans. We refuse them (see firewall.ts). */
export const NEGATION_PREFIX = 'no';

/** Muxers refused whatever the policy says, with the reason. */
export const DENIED_MUXERS: Readonly<Record<string, string>> = {
  tee: 'writes to several outputs chosen inside its own argument',
  segment: 'writes many segment files and a list file',
  stream_segment: 'writes many segment files',
  ssegment: 'writes many segment files',
  hls: 'writes a playlist and many segment files, and can upload them over HTTP',
  dash: 'writes a manifest and many segment files, and can upload them over HTTP',
  hds: 'writes a manifest and many fragment files',
  smoothstreaming: 'writes a manifest and many fragment files',
  webm_chunk: 'writes many chunk files',
  webm_dash_manifest: 'reads the files named in its arguments',
  fifo: 'wraps another muxer chosen in its own arguments',
  fifo_test: 'is a test muxer',
  image2: 'writes one file per frame from a pattern (use image2pipe, or -frames:v 1)',
  rtp: 'sends the output over the network',
  rtp_mpegts: 'sends the output over the network',
  rtsp: 'sends the output over the network',
  sap: 'announces and sends the output over the network',
  lavfi: 'is an input device that generates media or reads files, not an output format',
  alsa: 'is an output device',
  caca: 'is an output device',
  fbdev: 'is an output device',
  opengl: 'is an output device',
  oss: 'is an output device',
  pulse: 'is an output device',
  sdl: 'is an output device',
  sdl2: 'is an output device',
  video4linux2: 'is an output device',
  v4l2: 'is an output device',
  xv: 'is an output device',
  sndio: 'is an output device',
  audiotoolbox: 'is an output device',
  decklink: 'is an output device',
};

/** Encoders that drive hardware devices: refused whatever the policy says. */
export const DENIED_ENCODER_PATTERN = /_(vaapi|nvenc|qsv|amf|v4l2m2m|omx|mf|videotoolbox|vulkan|cuda|mediacodec)$/;

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
  const denied = Object.hasOwn(DENIED_OPTIONS, name) ? DENIED_OPTIONS[name] : undefined;
  if (denied) return { status: 'denied', written: name, writtenSpec: spec, denial: denied };
  for (const p of DENIED_OPTION_PATTERNS) {
    if (p.pattern.test(name)) {
      return { status: 'denied', written: name, writtenSpec: spec, denial: { rule: p.rule, consumes: 'value', why: p.why } };
    }
  }
  const alias = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
  const canonical = alias ? alias.aliasOf : name;
  const entry = Object.hasOwn(OPTIONS, canonical) ? OPTIONS[canonical] : undefined;
  if (entry) {
    return { status: 'known', written: name, canonical, writtenSpec: spec, aliasSpec: alias?.spec, spec: entry };
  }
  if (name.startsWith(NEGATION_PREFIX) && name.length > NEGATION_PREFIX.length) {
    const rest = name.slice(NEGATION_PREFIX.length);
    const restEntry = Object.hasOwn(OPTIONS, rest) ? OPTIONS[rest] : undefined;
    const restDenied = Object.hasOwn(DENIED_OPTIONS, rest) ? DENIED_OPTIONS[rest] : undefined;
    if ((restEntry && restEntry.kind === 'flag') || (restDenied && restDenied.consumes === 'none')) {
      return { status: 'negation', written: name, writtenSpec: spec, negated: rest };
    }
  }
  return { status: 'unknown', written: name, writtenSpec: spec };
}
