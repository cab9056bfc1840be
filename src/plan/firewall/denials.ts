/**
 * Everything the argument firewall refuses whatever a policy says, in one
 * place: options, families of options, muxers, encoders and filters that read
 * or write other files, reach the network, need a device, or take over what
 * the wrapper owns. A policy's allow-lists can only narrow what passes; these
 * tables are checked first, so listing a denied name in a policy does not
 * unlock it.
 *
 * Each entry says why, in words that complete "it …": the reason is shown to
 * the user as is. Pure data and lookups.
 */
import { FIREWALL_RULES } from './rule-ids.js';

/** Short for the rule ids in the tables below. */
const R = FIREWALL_RULES;

// ---------------------------------------------------------------- options

/** Why an option is refused whatever the policy says. Also the firewall's rule id. */
export type DenialRule = (typeof FIREWALL_RULES)['extraInput' | 'fileOption' | 'networkOption' | 'wrapperOwned' | 'device' | 'deniedOption'];

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
  i: d(R.extraInput, 'value', 'adds an input; zt-ffmpeg supplies the only input'),
  // files read or written besides the one output
  report: d(R.fileOption, 'none', 'writes a report file into the working directory'),
  filter_script: d(R.fileOption, 'value', 'reads a filtergraph from a file, out of the firewall\'s sight'),
  filter_complex_script: d(R.fileOption, 'value', 'reads a filtergraph from a file, out of the firewall\'s sight'),
  attach: d(R.fileOption, 'value', 'reads a file and embeds it in the output'),
  dump_attachment: d(R.fileOption, 'value', 'writes attachments of the input to files'),
  vstats: d(R.fileOption, 'none', 'writes a statistics file'),
  vstats_file: d(R.fileOption, 'value', 'writes a statistics file'),
  vstats_version: d(R.fileOption, 'value', 'only meaningful with -vstats, which is refused'),
  sdp_file: d(R.fileOption, 'value', 'writes an SDP file'),
  stats_enc_pre: d(R.fileOption, 'value', 'writes a statistics file'),
  stats_enc_post: d(R.fileOption, 'value', 'writes a statistics file'),
  stats_mux_pre: d(R.fileOption, 'value', 'writes a statistics file'),
  stats_enc_pre_fmt: d(R.fileOption, 'value', 'only meaningful with the -stats_* files, which are refused'),
  stats_enc_post_fmt: d(R.fileOption, 'value', 'only meaningful with the -stats_* files, which are refused'),
  stats_mux_pre_fmt: d(R.fileOption, 'value', 'only meaningful with the -stats_* files, which are refused'),
  pre: d(R.fileOption, 'value', 'reads options from a preset file'),
  vpre: d(R.fileOption, 'value', 'reads options from a preset file'),
  apre: d(R.fileOption, 'value', 'reads options from a preset file'),
  spre: d(R.fileOption, 'value', 'reads options from a preset file'),
  fpre: d(R.fileOption, 'value', 'reads options from a preset file'),
  progress: d(R.fileOption, 'value', 'writes progress to a file or URL; the wrapper owns progress reporting'),
  x264opts: d(R.fileOption, 'value', PARAMS_WHY),
  'x264-params': d(R.fileOption, 'value', PARAMS_WHY),
  'x265-params': d(R.fileOption, 'value', PARAMS_WHY),
  'svtav1-params': d(R.fileOption, 'value', PARAMS_WHY),
  'aom-params': d(R.fileOption, 'value', PARAMS_WHY),
  'rav1e-params': d(R.fileOption, 'value', PARAMS_WHY),
  'kvazaar-params': d(R.fileOption, 'value', PARAMS_WHY),
  'xavs2-params': d(R.fileOption, 'value', PARAMS_WHY),
  'vvenc-params': d(R.fileOption, 'value', PARAMS_WHY),
  master_pl_name: d(R.fileOption, 'value', 'writes an extra playlist file'),
  master_pl_publish_rate: d(R.fileOption, 'value', 'belongs to the HLS muxer, which is refused'),
  var_stream_map: d(R.fileOption, 'value', 'writes one output per variant stream'),
  cc_stream_map: d(R.fileOption, 'value', 'belongs to the HLS muxer, which is refused'),
  init_seg_name: d(R.fileOption, 'value', 'writes extra segment files'),
  media_seg_name: d(R.fileOption, 'value', 'writes extra segment files'),
  adaptation_sets: d(R.fileOption, 'value', 'belongs to the DASH muxer, which is refused'),
  single_file_name: d(R.fileOption, 'value', 'writes extra files'),
  strftime: d(R.fileOption, 'value', 'expands output names into many files'),
  strftime_mkdir: d(R.fileOption, 'value', 'creates directories'),
  use_localtime: d(R.fileOption, 'value', 'expands output names into many files'),
  use_localtime_mkdir: d(R.fileOption, 'value', 'creates directories'),
  fifo_format: d(R.fileOption, 'value', 'belongs to the fifo muxer, which is refused'),
  update: d(R.fileOption, 'value', 'belongs to the image2 muxer, which is refused'),
  // network
  method: d(R.networkOption, 'value', 'sets the HTTP method used to upload the output'),
  headers: d(R.networkOption, 'value', 'sets HTTP headers for network output'),
  user_agent: d(R.networkOption, 'value', 'sets the HTTP user agent for network output'),
  timeout: d(R.networkOption, 'value', 'configures network I/O'),
  listen: d(R.networkOption, 'value', 'makes the output a network server'),
  // the wrapper's own hardening and housekeeping
  y: d(R.wrapperOwned, 'none', 'decides about overwriting; the wrapper writes to a private job directory and publishes atomically'),
  n: d(R.wrapperOwned, 'none', 'decides about overwriting; the wrapper writes to a private job directory and publishes atomically'),
  stdin: d(R.wrapperOwned, 'none', 'controls interaction on standard input; the wrapper always passes -nostdin'),
  nostdin: d(R.wrapperOwned, 'none', 'is always passed by the wrapper'),
  stats: d(R.wrapperOwned, 'none', 'controls progress output, which the wrapper owns'),
  nostats: d(R.wrapperOwned, 'none', 'controls progress output, which the wrapper owns'),
  stats_period: d(R.wrapperOwned, 'value', 'controls progress output, which the wrapper owns'),
  loglevel: d(R.wrapperOwned, 'value', 'sets the log level, which the wrapper owns (its monitor reads the diagnostics)'),
  v: d(R.wrapperOwned, 'value', 'sets the log level, which the wrapper owns (its monitor reads the diagnostics)'),
  hide_banner: d(R.wrapperOwned, 'none', 'is the wrapper\'s choice'),
  protocol_whitelist: d(R.wrapperOwned, 'value', 'overrides the wrapper\'s protocol whitelist (file only)'),
  protocol_blacklist: d(R.wrapperOwned, 'value', 'overrides the wrapper\'s protocol whitelist (file only)'),
  format_whitelist: d(R.wrapperOwned, 'value', 'overrides the wrapper\'s demuxer pinning'),
  codec_whitelist: d(R.wrapperOwned, 'value', 'overrides the wrapper\'s decoder choice'),
  timelimit: d(R.wrapperOwned, 'value', 'sets a CPU limit; the wrapper owns resource limits'),
  max_alloc: d(R.wrapperOwned, 'value', 'sets a memory limit; the wrapper owns resource limits'),
  cpuflags: d(R.wrapperOwned, 'value', 'changes CPU feature detection'),
  cpucount: d(R.wrapperOwned, 'value', 'changes CPU count detection'),
  // hardware
  hwaccel: d(R.device, 'value', DEVICE_WHY),
  hwaccel_device: d(R.device, 'value', DEVICE_WHY),
  hwaccel_output_format: d(R.device, 'value', DEVICE_WHY),
  init_hw_device: d(R.device, 'value', DEVICE_WHY),
  filter_hw_device: d(R.device, 'value', DEVICE_WHY),
  vaapi_device: d(R.device, 'value', DEVICE_WHY),
  qsv_device: d(R.device, 'value', DEVICE_WHY),
  // diagnostics that flood or change global state
  benchmark: d(R.deniedOption, 'none', 'prints timing diagnostics; not needed to transcode'),
  benchmark_all: d(R.deniedOption, 'none', 'prints timing diagnostics; not needed to transcode'),
  dump: d(R.deniedOption, 'none', 'dumps every packet to the log, flooding the diagnostics the monitor reads'),
  hex: d(R.deniedOption, 'none', 'dumps packet payloads to the log, flooding the diagnostics the monitor reads'),
  debug_ts: d(R.deniedOption, 'none', 'floods the log with timestamp diagnostics'),
  debug: d(R.deniedOption, 'value', 'raises the global log level to debug and turns on codec debug dumps, flooding the diagnostics the monitor reads'),
  fdebug: d(R.deniedOption, 'value', 'raises the global log level to debug, flooding the diagnostics the monitor reads'),
  qphist: d(R.deniedOption, 'none', 'prints diagnostics; not needed to transcode'),
  psnr: d(R.deniedOption, 'none', 'prints diagnostics; not needed to transcode'),
  target: d(R.deniedOption, 'value', 'silently sets many options (format, codecs, rates) that the firewall would not see'),
  // informational options: print and exit, and swallow the next argument
  L: d(R.deniedOption, 'optional', INFO_WHY),
  h: d(R.deniedOption, 'optional', INFO_WHY),
  '?': d(R.deniedOption, 'optional', INFO_WHY),
  help: d(R.deniedOption, 'optional', INFO_WHY),
  '-help': d(R.deniedOption, 'optional', INFO_WHY),
  version: d(R.deniedOption, 'optional', INFO_WHY),
  buildconf: d(R.deniedOption, 'optional', INFO_WHY),
  formats: d(R.deniedOption, 'optional', INFO_WHY),
  muxers: d(R.deniedOption, 'optional', INFO_WHY),
  demuxers: d(R.deniedOption, 'optional', INFO_WHY),
  devices: d(R.deniedOption, 'optional', INFO_WHY),
  codecs: d(R.deniedOption, 'optional', INFO_WHY),
  decoders: d(R.deniedOption, 'optional', INFO_WHY),
  encoders: d(R.deniedOption, 'optional', INFO_WHY),
  bsfs: d(R.deniedOption, 'optional', INFO_WHY),
  protocols: d(R.deniedOption, 'optional', INFO_WHY),
  filters: d(R.deniedOption, 'optional', INFO_WHY),
  pix_fmts: d(R.deniedOption, 'optional', INFO_WHY),
  layouts: d(R.deniedOption, 'optional', INFO_WHY),
  sample_fmts: d(R.deniedOption, 'optional', INFO_WHY),
  dispositions: d(R.deniedOption, 'optional', INFO_WHY),
  colors: d(R.deniedOption, 'optional', INFO_WHY),
  sources: d(R.deniedOption, 'optional', INFO_WHY),
  sinks: d(R.deniedOption, 'optional', INFO_WHY),
  hwaccels: d(R.deniedOption, 'optional', INFO_WHY),
};

/**
 * Families of AVOptions that belong to muxers and protocols which write extra
 * files or reach the network (hls_time, segment_list, http_persistent…). They
 * are AVOptions, so they always take a value.
 */
export const DENIED_OPTION_PATTERNS: ReadonlyArray<{ readonly pattern: RegExp; readonly rule: DenialRule; readonly why: string }> = [
  { pattern: /^(hls|segment|dash|hds|webm_chunk|chunk|smoothstreaming|lhls|ldash|fifo|tee)_/, rule: R.fileOption, why: 'belongs to a muxer that writes extra files (playlists, segments)' },
  { pattern: /^(http|https|rtsp|rtmp|rtp|srt|tls|tcp|udp|icy|ftp|sftp|smb|ssh|zmq|rist)_/, rule: R.networkOption, why: 'configures network I/O; outputs never reach the network' },
];

/** A denied option by name (without dash and specifier): the table first, then the families. */
export function deniedOption(name: string): DeniedOption | undefined {
  if (Object.hasOwn(DENIED_OPTIONS, name)) return DENIED_OPTIONS[name];
  for (const p of DENIED_OPTION_PATTERNS) {
    if (p.pattern.test(name)) return { rule: p.rule, consumes: 'value', why: p.why };
  }
  return undefined;
}

// ---------------------------------------------------------------- muxers and encoders

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

/** Why a muxer is refused (case-insensitively, as ffmpeg looks muxers up), or undefined. */
export function deniedMuxer(name: string): string | undefined {
  const n = name.toLowerCase();
  return Object.hasOwn(DENIED_MUXERS, n) ? DENIED_MUXERS[n] : undefined;
}

// ---------------------------------------------------------------- filters

export interface DeniedFilter {
  readonly rule: (typeof FIREWALL_RULES)['filter' | 'filterFile'];
  readonly why: string;
}

const FILE_READER = (what: string): DeniedFilter => ({ rule: R.filterFile, why: what });
const WORLD = (what: string): DeniedFilter => ({ rule: R.filter, why: what });
const SOURCE: DeniedFilter = WORLD('is a source: it generates media or reads it from elsewhere instead of filtering the input');
const PLUGIN: DeniedFilter = WORLD('loads a shared library (plugin) named in its arguments');
const DEVICE: DeniedFilter = WORLD('needs a hardware device; the sandbox exposes none');

/** Filters refused whatever the policy says. */
export const DENIED_FILTERS: Readonly<Record<string, DeniedFilter>> = {
  movie: FILE_READER('opens another file or URL as an input'),
  amovie: FILE_READER('opens another file or URL as an input'),
  subtitles: FILE_READER('reads a subtitle file (and fonts) named in its arguments'),
  ass: FILE_READER('reads a subtitle file (and fonts) named in its arguments'),
  removelogo: FILE_READER('reads a bitmap file'),
  cover_rect: FILE_READER('reads a bitmap file'),
  find_rect: FILE_READER('reads a bitmap file'),
  arnndn: FILE_READER('reads a model file'),
  sofalizer: FILE_READER('reads a SOFA file'),
  dnn_processing: FILE_READER('reads a model file'),
  dnn_detect: FILE_READER('reads a model file'),
  dnn_classify: FILE_READER('reads model and label files'),
  derain: FILE_READER('reads a model file'),
  sr: FILE_READER('reads a model file'),
  nnedi: FILE_READER('reads a weights file'),
  fieldhint: FILE_READER('reads a hint file'),
  ocv: FILE_READER('can read a structuring element from a file'),
  asr: FILE_READER('reads speech model files and writes a log file'),
  ocr: FILE_READER('reads OCR data files'),
  lensfun: FILE_READER('reads a lens database'),
  whisper: FILE_READER('reads a model file and writes a transcript file'),
  signature: FILE_READER('writes signature files'),
  vidstabdetect: FILE_READER('writes a transforms file'),
  vidstabtransform: FILE_READER('reads a transforms file'),
  libvmaf: FILE_READER('reads model files and writes a log file'),
  psnr: FILE_READER('writes a statistics file (stats_file)'),
  ssim: FILE_READER('writes a statistics file (stats_file)'),
  vmafmotion: FILE_READER('writes a statistics file (stats_file)'),
  sendcmd: WORLD('reads commands (from a file or its arguments) that change other filters while running'),
  asendcmd: WORLD('reads commands (from a file or its arguments) that change other filters while running'),
  zmq: WORLD('listens on a network socket for commands'),
  azmq: WORLD('listens on a network socket for commands'),
  ladspa: PLUGIN,
  lv2: PLUGIN,
  frei0r: PLUGIN,
  frei0r_src: PLUGIN,
  openclsrc: WORLD('reads an OpenCL program file and needs a device'),
  program_opencl: WORLD('reads an OpenCL program file and needs a device'),
  libplacebo: WORLD('needs a Vulkan device and can read shader files'),
  coreimage: DEVICE,
  coreimagesrc: DEVICE,
  buffer: WORLD('is ffmpeg\'s internal input plumbing'),
  abuffer: WORLD('is ffmpeg\'s internal input plumbing'),
  buffersink: WORLD('is ffmpeg\'s internal output plumbing'),
  abuffersink: WORLD('is ffmpeg\'s internal output plumbing'),
  // sources (filters without inputs) in ffmpeg 5.1 and later; "…src" is caught by a pattern too
  aevalsrc: SOURCE,
  afirsrc: SOURCE,
  afdelaysrc: SOURCE,
  anoisesrc: SOURCE,
  anullsrc: SOURCE,
  flite: SOURCE,
  hilbert: SOURCE,
  sinc: SOURCE,
  sine: SOURCE,
  allrgb: SOURCE,
  allyuv: SOURCE,
  cellauto: SOURCE,
  color: SOURCE,
  colorchart: SOURCE,
  colorspectrum: SOURCE,
  gradients: SOURCE,
  haldclutsrc: SOURCE,
  life: SOURCE,
  mandelbrot: SOURCE,
  mptestsrc: SOURCE,
  nullsrc: SOURCE,
  pal75bars: SOURCE,
  pal100bars: SOURCE,
  rgbtestsrc: SOURCE,
  sierpinski: SOURCE,
  smptebars: SOURCE,
  smptehdbars: SOURCE,
  testsrc: SOURCE,
  testsrc2: SOURCE,
  yuvtestsrc: SOURCE,
  avsynctest: SOURCE,
  zoneplate: SOURCE,
  perlin: SOURCE,
  qrencodesrc: SOURCE,
  ddagrab: SOURCE,
  gfxcapture: SOURCE,
  color_vulkan: SOURCE,
  testsrc_vulkan: SOURCE,
};

const DENIED_FILTER_PATTERNS: ReadonlyArray<{ readonly pattern: RegExp; readonly denial: DeniedFilter }> = [
  { pattern: /src$/, denial: SOURCE },
  { pattern: /^dnn_/, denial: FILE_READER('reads a model file') },
  {
    pattern: /^(hwupload|hwdownload|hwmap)|^(vpp_|opencl|vulkan)|_(vaapi|cuda|npp|opencl|qsv|vulkan|videotoolbox|vt|amf|d3d11|d3d12|cuvid)$/,
    denial: DEVICE,
  },
];

/** A denied filter by name (exact, then case-insensitively for robustness), or undefined. */
export function deniedFilter(name: string): DeniedFilter | undefined {
  for (const n of [name, name.toLowerCase()]) {
    if (Object.hasOwn(DENIED_FILTERS, n)) return DENIED_FILTERS[n];
    for (const p of DENIED_FILTER_PATTERNS) if (p.pattern.test(n)) return p.denial;
  }
  return undefined;
}
