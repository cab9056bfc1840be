/**
 * The argument firewall for raw passthrough ffmpeg output arguments (what a
 * user writes after `--` in `zt-ffmpeg run -i in -o out -- ARGS`).
 *
 * zt-ffmpeg supplies the input, the output path and its own hardening; ARGS
 * are untrusted. They are read exactly as ffmpeg 5.1 reads them (one dash,
 * name up to the first ':', the next element consumed as the value of an
 * option that takes one) and every option, value, encoder, muxer and filter is
 * checked. Allow-lists come from the policy; on top of them a fixed set of
 * things is refused whatever the policy says (extra inputs, second outputs,
 * URLs, options and filters that read or write other files or reach the
 * network). Every problem is collected, not just the first.
 *
 * Pure: no I/O, no clock, no environment.
 */
import path from 'node:path';
import { unreachable, type Violation } from '../errors.js';
import {
  DENIED_ENCODER_PATTERN,
  DENIED_MUXERS,
  resolveOption,
  type OptionKind,
  type OptionSpec,
} from './ffmpeg-options.js';
import { filtersOf, MAX_FILTERGRAPH_LENGTH, parseFilterGraph, type ParsedFilter } from './filtergraph.js';

/** Allow-lists from the policy. Option names without the dash and without stream specifier ("c", "b", "vf"). */
export interface FirewallRules {
  readonly options: readonly string[];
  readonly encoders: readonly string[];
  readonly muxers: readonly string[];
  readonly filters: readonly string[];
}

export interface FirewallContext {
  /** Absolute path of the job's private working directory (ffmpeg's cwd). */
  readonly jobDir: string;
  readonly grants?: {
    /** drawtext/showcqt may name a font file (the wrapper binds the font directories read-only). */
    readonly fonts?: boolean;
  };
  /** Upper bound for -threads (the wrapper bounds threads itself). Default 16. */
  readonly maxThreads?: number;
}

/** An option that passed, as ffmpeg will read it. */
export interface AcceptedOption {
  readonly index: number;
  /** Canonical option name (vcodec → c). */
  readonly name: string;
  /** Stream specifier as written or implied by an alias (-vcodec → v). */
  readonly spec?: string;
  readonly value?: string;
}

export type FirewallResult =
  | { readonly ok: true; readonly args: string[]; readonly options: readonly AcceptedOption[] }
  | { readonly ok: false; readonly violations: Violation[] };

/** Which argument a violation is about. Goes into Violation.actual. */
export interface ArgRef {
  /** 0-based index in the passthrough arguments. */
  readonly index: number;
  readonly arg: string;
  /** The value (for an option), the filter name, the label… whatever was refused. */
  readonly value?: string;
}

export const MAX_ARGS = 256;
export const MAX_ARG_LENGTH = 4096;
export const MAX_METADATA_VALUE_LENGTH = 1024;
export const DEFAULT_MAX_THREADS = 16;

const HINT_POLICY = 'use a named operation (--operation) or ask for the policy to allow it';
const HINT_NEVER = 'zt-ffmpeg refuses this whatever the policy says; use a named operation (--operation) that does what you need';
const HINT_WRAPPER = 'leave it out: zt-ffmpeg sets this itself';
const HINT_OUTPUT = 'give the one output with -o; passthrough arguments may only be options';

/** `scheme:`: any URL or ffmpeg protocol prefix (file:, concat:, subfile:, data:, pipe:, http://…). */
const URL_LIKE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

export function looksLikeUrl(value: string): boolean {
  return URL_LIKE.test(value);
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Kinds whose values legitimately contain ':' or are never opened as files or URLs. */
const URL_EXEMPT: ReadonlySet<OptionKind> = new Set<OptionKind>([
  'filtergraph',
  'map',
  'mapMetadata',
  'metadata',
  'forceKeyFrames',
  'timecode',
  'aspect',
  'duration',
]);

const STREAM_SPEC = /^[A-Za-z0-9_#.:=-]{1,64}$/;

/** Check raw passthrough output arguments against the policy's allow-lists and the fixed denials. */
export function checkPassthroughArgs(
  args: readonly string[],
  rules: FirewallRules,
  ctx: FirewallContext,
): FirewallResult {
  if (!path.isAbsolute(ctx.jobDir)) {
    throw new Error(`internal error: firewall needs an absolute job directory, got '${ctx.jobDir}'`);
  }
  const out: Violation[] = [];
  const accepted: AcceptedOption[] = [];
  const allowedOptions = new Set(rules.options);

  if (args.length > MAX_ARGS) {
    out.push({
      rule: 'firewall.limit',
      actual: args.length,
      limit: MAX_ARGS,
      message: `${args.length} passthrough arguments; at most ${MAX_ARGS} are accepted`,
      hint: HINT_POLICY,
    });
    return { ok: false, violations: out };
  }

  let i = 0;
  while (i < args.length) {
    const index = i;
    const arg = args[i] ?? '';
    i++;
    if (arg === '--') {
      // ffmpeg: the argument after '--' is an output file name, even if it starts with '-'.
      out.push({
        rule: 'firewall.second-output',
        actual: ref(index, arg),
        limit: 'no output file names',
        message: `argument ${index} '--' makes the next argument an output file name`,
        hint: HINT_OUTPUT,
      });
      if (i < args.length) {
        positional(i, args[i] ?? '', out);
        i++;
      }
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional(index, arg, out);
      continue;
    }
    if (arg.length > MAX_ARG_LENGTH || CONTROL.test(arg)) {
      out.push({
        rule: 'firewall.option',
        actual: ref(index, show(arg)),
        limit: 'a plain option name',
        message: `argument ${index} is not a plausible option name (too long or control characters)`,
        hint: HINT_POLICY,
      });
      continue;
    }

    const r = resolveOption(arg);
    switch (r.status) {
      case 'denied': {
        const { denial } = r;
        const takesNext = denial.consumes === 'value' || (denial.consumes === 'optional' && i < args.length);
        const value = takesNext && i < args.length ? args[i] : undefined;
        if (takesNext) i++;
        out.push({
          rule: denial.rule,
          actual: ref(index, arg, value),
          limit: 'never allowed',
          message: `argument ${index} '${arg}' is refused: it ${denial.why}`,
          hint: denial.rule === 'firewall.wrapper-owned' ? HINT_WRAPPER : HINT_NEVER,
        });
        if (value !== undefined && looksLikeUrl(value)) out.push(urlViolation(index + 1, arg, value));
        break;
      }
      case 'negation':
        out.push({
          rule: 'firewall.option',
          actual: ref(index, arg),
          limit: 'no -no… negations',
          message: `argument ${index} '${arg}': negated options (-no${r.negated}) are not accepted`,
          hint: `leave -${r.negated} out instead of negating it`,
        });
        break;
      case 'unknown': {
        // An unknown AVOption would consume a value; skip a plausible one so that
        // later violations are still reported at the right place.
        const next = args[i];
        const value = next !== undefined && !next.startsWith('-') ? next : undefined;
        if (value !== undefined) i++;
        out.push({
          rule: 'firewall.option',
          actual: ref(index, arg, value),
          limit: [...rules.options],
          message: r.written.startsWith('/')
            ? `argument ${index} '${arg}': '-/option' reads the option's value from a file; refused`
            : `argument ${index} '${arg}' is not an option zt-ffmpeg knows how to check; unknown options are refused`,
          hint: HINT_POLICY,
        });
        if (value !== undefined && looksLikeUrl(value)) out.push(urlViolation(index + 1, arg, value));
        break;
      }
      case 'known': {
        const { spec } = r;
        if (!allowedOptions.has(r.written) && !allowedOptions.has(r.canonical)) {
          out.push({
            rule: 'firewall.option',
            actual: ref(index, arg),
            limit: [...rules.options],
            message: `argument ${index} '${arg}': option '${r.written}' is not allowed by the policy`,
            hint: HINT_POLICY,
          });
        }
        const specProblem = checkSpecifier(r.writtenSpec, r.aliasSpec, spec);
        if (specProblem !== undefined) {
          out.push({
            rule: 'firewall.stream-specifier',
            actual: ref(index, arg),
            limit: spec.perStream ? 'a stream specifier such as v, a, v:0, a:1' : 'no stream specifier',
            message: `argument ${index} '${arg}': ${specProblem}`,
            hint: 'write the option as documented, e.g. -c:v, -b:a:0, -vcodec',
          });
        }
        const streamSpec = r.writtenSpec ?? r.aliasSpec;
        if (!spec.takesValue) {
          accepted.push({ index, name: r.canonical, ...(streamSpec === undefined ? {} : { spec: streamSpec }) });
          break;
        }
        if (i >= args.length) {
          out.push({
            rule: 'firewall.missing-value',
            actual: ref(index, arg),
            limit: `a ${spec.kind} value`,
            message: `argument ${index} '${arg}' needs a value and none follows`,
            hint: `write ${arg} VALUE`,
          });
          break;
        }
        const value = args[i] ?? '';
        i++;
        const before = out.length;
        checkValue({ index: index + 1, option: arg, canonical: r.canonical, value, spec }, rules, ctx, out);
        if (out.length === before) {
          accepted.push({ index, name: r.canonical, ...(streamSpec === undefined ? {} : { spec: streamSpec }), value });
        }
        break;
      }
      default:
        unreachable(r);
    }
  }

  return out.length === 0 ? { ok: true, args: [...args], options: accepted } : { ok: false, violations: out };
}

function ref(index: number, arg: string, value?: string): ArgRef {
  return value === undefined ? { index, arg } : { index, arg, value };
}

/** Printable, bounded rendering of hostile strings for messages. */
function show(s: string): string {
  const clipped = s.length > 120 ? `${s.slice(0, 120)}…` : s;
  return JSON.stringify(clipped).slice(1, -1);
}

function tooLong(index: number, arg: string): Violation {
  return {
    rule: 'firewall.limit',
    actual: ref(index, show(arg)),
    limit: MAX_ARG_LENGTH,
    message: `argument ${index} is ${arg.length} characters long; at most ${MAX_ARG_LENGTH} are accepted`,
    hint: HINT_POLICY,
  };
}

function urlViolation(index: number, option: string, value: string): Violation {
  return {
    rule: 'firewall.url',
    actual: ref(index, option, show(value)),
    limit: 'no URLs or protocol prefixes (scheme:)',
    message: `argument ${index} '${show(value)}' looks like a URL or protocol prefix ('${value.slice(0, value.indexOf(':') + 1)}'); outputs and files never go through protocols`,
    hint: 'only local names inside the job are accepted; the wrapper chooses the output',
  };
}

/** A non-option argument: for ffmpeg, another output file. */
function positional(index: number, arg: string, out: Violation[]): void {
  out.push({
    rule: 'firewall.second-output',
    actual: ref(index, show(arg)),
    limit: 'no output file names',
    message: `argument ${index} '${show(arg)}' is not an option: ffmpeg would treat it as a second output`,
    hint: HINT_OUTPUT,
  });
  if (looksLikeUrl(arg)) out.push(urlViolation(index, arg, arg));
}

function checkSpecifier(written: string | undefined, aliasSpec: string | undefined, spec: OptionSpec): string | undefined {
  if (written === undefined) return undefined;
  if (aliasSpec !== undefined) return `this alias already means ':${aliasSpec}'; write the full form with a specifier instead`;
  if (!spec.perStream) return 'this option takes no stream specifier';
  if (!STREAM_SPEC.test(written)) return `'${show(written)}' is not a stream specifier`;
  return undefined;
}

interface ValueCheck {
  /** Index of the value in the passthrough arguments. */
  readonly index: number;
  readonly option: string;
  readonly canonical: string;
  readonly value: string;
  readonly spec: OptionSpec;
}

function checkValue(v: ValueCheck, rules: FirewallRules, ctx: FirewallContext, out: Violation[]): void {
  const { value, spec } = v;
  const bad = (expected: string, detail?: string): void => {
    out.push({
      rule: 'firewall.value',
      actual: ref(v.index, v.option, show(value)),
      limit: expected,
      message: `argument ${v.index} '${show(value)}' is not a valid value for ${v.option}: expected ${expected}${detail ? ` (${detail})` : ''}`,
      hint: `fix the value of ${v.option}`,
    });
  };

  const maxLen = spec.kind === 'filtergraph' ? MAX_FILTERGRAPH_LENGTH : MAX_ARG_LENGTH;
  if (value.length > maxLen) {
    out.push({ ...tooLong(v.index, value), limit: maxLen });
    return;
  }
  const control = spec.kind === 'filtergraph' ? CONTROL_EXCEPT_WHITESPACE : CONTROL;
  if (control.test(value)) {
    bad('no control characters');
    return;
  }
  if (!URL_EXEMPT.has(spec.kind) && looksLikeUrl(value)) {
    out.push(urlViolation(v.index, v.option, value));
    return;
  }

  switch (spec.kind) {
    case 'flag':
      return;
    case 'codec':
      checkEncoder(v, rules, out, bad);
      return;
    case 'muxer':
      checkMuxer(v, rules, out, bad);
      return;
    case 'filtergraph':
      out.push(...checkFilterGraph(value, rules, ctx, { index: v.index, option: v.option }));
      return;
    case 'int':
    case 'number': {
      const re = spec.kind === 'int' ? /^-?\d{1,13}$/ : /^-?\d{1,13}(\.\d{1,9})?$/;
      if (!re.test(value)) return bad(spec.kind === 'int' ? 'an integer' : 'a number');
      const n = Number(value);
      const max = v.canonical === 'threads' ? Math.min(spec.max ?? Infinity, ctx.maxThreads ?? DEFAULT_MAX_THREADS) : spec.max;
      if ((spec.min !== undefined && n < spec.min) || (max !== undefined && n > max)) {
        return bad(`a number from ${spec.min ?? '-∞'} to ${max ?? '∞'}`);
      }
      return;
    }
    case 'bitrate':
      if (!/^\d{1,12}(\.\d{1,6})?[kKMG]?$/.test(value)) bad('a bit rate such as 128k, 2.5M or 800000');
      return;
    case 'duration':
      if (!/^(\d{1,9}(\.\d{1,9})?(s|ms|us)?|(\d{1,9}:)?\d{1,2}:\d{1,2}(\.\d{1,9})?)$/.test(value)) {
        bad('a duration such as 10, 2.5, 500ms or 00:01:02.5');
      }
      return;
    case 'size':
      if (!/^(\d{1,5}x\d{1,5}|[a-z][a-z0-9]{1,11})$/.test(value)) bad('WIDTHxHEIGHT or a size name such as hd720');
      return;
    case 'rate':
      if (!/^(\d{1,7}(\.\d{1,6})?(\/\d{1,7}(\.\d{1,6})?)?|[a-z][a-z0-9-]{1,15})$/.test(value)) {
        bad('a rate such as 30, 29.97, 30000/1001 or ntsc');
      }
      return;
    case 'aspect':
      if (!/^\d{1,5}(\.\d{1,6})?([:/]\d{1,5}(\.\d{1,6})?)?$/.test(value)) bad('an aspect ratio such as 16:9 or 1.7777');
      return;
    case 'pixfmt':
    case 'samplefmt':
      if (!/^[a-z0-9_]{1,32}$/.test(value)) bad('a format name such as yuv420p or fltp');
      return;
    case 'chlayout':
      if (!/^[A-Za-z0-9_.()+|-]{1,64}$/.test(value)) bad('a channel layout such as stereo or 5.1(side)');
      return;
    case 'token':
      if (spec.values !== undefined) {
        if (!spec.values.includes(value)) bad(`one of ${spec.values.join(', ')}`);
      } else if (!/^(-?\d{1,12}(\.\d{1,6})?|[A-Za-z0-9_.+][A-Za-z0-9_.+-]{0,63})$/.test(value)) {
        // A leading '-' only for numbers: a value such as "-f" would be misread by anything
        // that scans the argument list for option names.
        bad('a short word of letters, digits, _ . + - (not starting with -)');
      }
      return;
    case 'flags':
      if (!/^[+-]?[A-Za-z0-9_]{1,64}([+-][A-Za-z0-9_]{1,64}){0,31}$/.test(value)) bad('flags such as +faststart');
      return;
    case 'map':
      checkMap(v, out, bad);
      return;
    case 'mapMetadata':
      checkInputRef(v, /^(-1|\d+)(:[A-Za-z0-9_#.:-]{0,64})?$/, 'an input reference such as 0, 0:g, 0:s:0 or -1', out, bad);
      return;
    case 'mapChapters':
      checkInputRef(v, /^(-1|\d+)$/, '0 or -1', out, bad);
      return;
    case 'metadata':
      checkMetadata(v, out, bad);
      return;
    case 'path':
      checkJobPath(v, ctx.jobDir, out);
      return;
    case 'disposition':
      if (!/^(0|[+-]?[a-z_]{1,32}([+-][a-z_]{1,32}){0,15})$/.test(value)) bad('dispositions such as default or +default-forced');
      return;
    case 'forceKeyFrames':
      if (
        !/^(expr:[A-Za-z0-9_().,+\-*/<>=!&| ]{1,256}|source|source_no_drop|chapters([+-]\d{1,6}(\.\d{1,6})?)?|[0-9:.]{1,16}(,[0-9:.]{1,16}){0,255})$/.test(
          value,
        )
      ) {
        bad('expr:EXPRESSION, source, chapters or a list of times');
      }
      return;
    case 'timecode':
      if (!/^\d{2}:\d{2}:\d{2}[:;.]\d{2}$/.test(value)) bad('a timecode hh:mm:ss:ff');
      return;
    default:
      unreachable(spec.kind);
  }
}

type Bad = (expected: string, detail?: string) => void;

function checkEncoder(v: ValueCheck, rules: FirewallRules, out: Violation[], bad: Bad): void {
  const { value } = v;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) return bad('an encoder name');
  if (DENIED_ENCODER_PATTERN.test(value)) {
    out.push({
      rule: 'firewall.encoder',
      actual: ref(v.index, v.option, value),
      limit: 'never allowed',
      message: `argument ${v.index} '${value}' is a hardware encoder; it needs a device the sandbox does not expose`,
      hint: HINT_NEVER,
    });
    return;
  }
  if (!rules.encoders.includes(value)) {
    out.push({
      rule: 'firewall.encoder',
      actual: ref(v.index, v.option, value),
      limit: [...rules.encoders],
      message: `argument ${v.index} '${value}': encoder not allowed by the policy (allowed: ${list(rules.encoders)})`,
      hint: HINT_POLICY,
    });
  }
}

function checkMuxer(v: ValueCheck, rules: FirewallRules, out: Violation[], bad: Bad): void {
  const { value } = v;
  if (!/^[A-Za-z0-9_]{1,32}$/.test(value)) return bad('a muxer name such as mp4');
  const why = Object.hasOwn(DENIED_MUXERS, value.toLowerCase()) ? DENIED_MUXERS[value.toLowerCase()] : undefined;
  if (why !== undefined) {
    out.push({
      rule: 'firewall.muxer',
      actual: ref(v.index, v.option, value),
      limit: 'never allowed',
      message: `argument ${v.index} '${value}' is refused as an output format: it ${why}`,
      hint: HINT_NEVER,
    });
    return;
  }
  if (!rules.muxers.includes(value)) {
    out.push({
      rule: 'firewall.muxer',
      actual: ref(v.index, v.option, value),
      limit: [...rules.muxers],
      message: `argument ${v.index} '${value}': output format not allowed by the policy (allowed: ${list(rules.muxers)})`,
      hint: HINT_POLICY,
    });
  }
}

function list(xs: readonly string[]): string {
  return xs.length === 0 ? 'none' : xs.join(', ');
}

function extraInput(v: ValueCheck, file: string, out: Violation[]): void {
  out.push({
    rule: 'firewall.extra-input',
    actual: ref(v.index, v.option, v.value),
    limit: 'input 0 only',
    message: `argument ${v.index} '${v.value}' refers to input ${file}; a job has exactly one input (0)`,
    hint: 'refer to input 0, e.g. -map 0:v:0',
  });
}

/** -map: `[-]0[:spec][?]` or `[label]` of a -filter_complex output. */
function checkMap(v: ValueCheck, out: Violation[], bad: Bad): void {
  const { value } = v;
  if (/^\[[A-Za-z0-9_.:-]{1,64}\]$/.test(value)) return;
  const m = /^-?(\d+)(:[A-Za-z0-9_#.:=-]{0,128})?\??$/.exec(value);
  if (!m) return bad('a stream reference such as 0:v:0, 0:a:0? or [label]', 'stream syncing with ,N is not supported');
  if (Number(m[1]) !== 0) extraInput(v, m[1] ?? '', out);
}

function checkInputRef(v: ValueCheck, re: RegExp, expected: string, out: Violation[], bad: Bad): void {
  const m = re.exec(v.value);
  if (!m) return bad(expected);
  const file = m[1] ?? '';
  if (file !== '0' && file !== '-1') extraInput(v, file, out);
}

function checkMetadata(v: ValueCheck, out: Violation[], bad: Bad): void {
  const eq = v.value.indexOf('=');
  if (eq < 0) return bad('key=value');
  const key = v.value.slice(0, eq);
  const val = v.value.slice(eq + 1);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) return bad('key=value with a key of letters, digits, _ . -');
  if (val.length > MAX_METADATA_VALUE_LENGTH) {
    out.push({
      rule: 'firewall.metadata',
      actual: ref(v.index, v.option, `${key}=…(${val.length} characters)`),
      limit: MAX_METADATA_VALUE_LENGTH,
      message: `argument ${v.index}: metadata value for '${key}' is ${val.length} characters long; at most ${MAX_METADATA_VALUE_LENGTH}`,
      hint: 'shorten the metadata value',
    });
  }
}

/**
 * A path that must stay inside the job directory: absolute and under jobDir,
 * or relative (ffmpeg runs with the job directory as cwd) without '..'.
 */
function checkJobPath(v: ValueCheck, jobDir: string, out: Violation[]): void {
  const { value } = v;
  const refuse = (why: string): void => {
    out.push({
      rule: 'firewall.path',
      actual: ref(v.index, v.option, show(value)),
      limit: `inside ${jobDir}`,
      message: `argument ${v.index} '${show(value)}' for ${v.option}: ${why}`,
      hint: 'use a plain relative name such as "pass" (it is created in the job directory)',
    });
  };
  if (value === '') return refuse('empty path');
  if (value.split('/').includes('..')) return refuse("the path contains '..'");
  if (!path.posix.isAbsolute(value)) return;
  const dir = path.posix.normalize(jobDir).replace(/\/+$/, '');
  const p = path.posix.normalize(value);
  if (!p.startsWith(`${dir}/`) || p.length <= dir.length + 1) refuse(`the path is outside the job directory ${jobDir}`);
}

// ---------------------------------------------------------------- filters

export interface DeniedFilter {
  readonly rule: 'firewall.filter' | 'firewall.filter-file';
  readonly why: string;
}

const FILE_READER = (what: string): DeniedFilter => ({ rule: 'firewall.filter-file', why: what });
const WORLD = (what: string): DeniedFilter => ({ rule: 'firewall.filter', why: what });
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

/**
 * Filters that may be allowed but have options naming files. `keys`: the file
 * options and whether a grant unlocks them. `positional`: how many leading
 * positional arguments are accepted; ffmpeg binds the N-th argument to the
 * N-th declared option, and a file option sits at a later position (drawtext's
 * first option is fontfile, its third textfile), so positional values past
 * this count, or after a key=value argument, are refused: write key=value.
 */
interface FileOptions {
  readonly keys: Readonly<Record<string, 'fonts' | 'never'>>;
  readonly positional: number;
}

const FILTER_FILE_OPTIONS: Readonly<Record<string, FileOptions>> = {
  drawtext: { keys: { fontfile: 'fonts', textfile: 'never' }, positional: 0 },
  showcqt: { keys: { fontfile: 'fonts', axisfile: 'never' }, positional: 2 },
  curves: { keys: { psfile: 'never', plot: 'never' }, positional: 1 },
  selectivecolor: { keys: { psfile: 'never' }, positional: 1 },
  paletteuse: { keys: { debug_kdtree: 'never' }, positional: 3 },
  firequalizer: { keys: { dumpfile: 'never' }, positional: 2 },
  deshake: { keys: { filename: 'never' }, positional: 4 },
  metadata: { keys: { file: 'never' }, positional: 3 },
  ametadata: { keys: { file: 'never' }, positional: 3 },
  lut1d: { keys: { file: 'never' }, positional: 0 },
  lut3d: { keys: { file: 'never' }, positional: 0 },
  haldclut: { keys: { file: 'never' }, positional: 0 },
};

/** Option names that mean "a file" in any filter (a net for filters not listed above). */
const GENERIC_FILE_KEYS: ReadonlySet<string> = new Set([
  'plot',
  'debug_kdtree',
  'custom_shader_bin',
  'fontsdir',
  'model',
  'labels',
  'bind_address',
  'logfn',
  'sofa',
  'cover',
  'object',
  'hint',
  'source',
  'result',
]);

function isGenericFileKey(key: string): boolean {
  const k = key.toLowerCase();
  return GENERIC_FILE_KEYS.has(k) || (/(file|filename|path)$/.test(k) && k !== 'profile');
}

/** strtol(s, &end, 0) as ffmpeg uses it to read the input file index of an unconnected label. */
function labelFileIndex(label: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|[1-9][0-9]*|0[0-7]*)/.exec(label);
  if (!m) return 0;
  const digits = m[2] ?? '0';
  const n = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.startsWith('0') ? parseInt(digits, 8) || 0 : parseInt(digits, 10);
  return m[1] === '-' ? -n : n;
}

/**
 * Parse a filtergraph description and check every filter: the fixed denials,
 * the policy's filter allow-list, file-naming options and labels that refer to
 * inputs other than 0.
 */
export function checkFilterGraph(
  description: string,
  rules: Pick<FirewallRules, 'filters'>,
  ctx: Pick<FirewallContext, 'grants'>,
  where: { readonly index: number; readonly option: string },
): Violation[] {
  const out: Violation[] = [];
  const parsed = parseFilterGraph(description);
  if (!parsed.ok) {
    out.push({
      rule: 'firewall.unparseable-filtergraph',
      actual: ref(where.index, where.option, show(description)),
      limit: 'a filtergraph the firewall can parse unambiguously',
      message: `argument ${where.index}: cannot check the filtergraph for ${where.option}: ${parsed.error.message} at character ${parsed.error.position}`,
      hint: 'write the filtergraph without unusual quoting or escaping, or use a named operation (--operation)',
    });
    return out;
  }
  const filters = filtersOf(parsed.graph);
  const produced = new Set(filters.flatMap((f) => f.outputs));
  for (const f of filters) {
    checkFilter(f, rules, ctx, where, out);
    for (const label of f.inputs) {
      if (produced.has(label)) continue;
      const file = labelFileIndex(label);
      if (file !== 0) {
        out.push({
          rule: 'firewall.extra-input',
          actual: ref(where.index, where.option, `[${label}]`),
          limit: 'input 0 only',
          message: `argument ${where.index}: filter '${f.name}' reads [${show(label)}], which refers to input ${file}; a job has exactly one input (0)`,
          hint: 'refer to input 0, e.g. [0:v]',
        });
      }
    }
  }
  return out;
}

function checkFilter(
  f: ParsedFilter,
  rules: Pick<FirewallRules, 'filters'>,
  ctx: Pick<FirewallContext, 'grants'>,
  where: { readonly index: number; readonly option: string },
  out: Violation[],
): void {
  const at = `argument ${where.index} (${where.option}), filter '${f.name}' at character ${f.position}`;
  const filterRef = ref(where.index, where.option, f.name);
  const denied = deniedFilter(f.name);
  if (denied) {
    out.push({
      rule: denied.rule,
      actual: filterRef,
      limit: 'never allowed',
      message: `${at} is refused: it ${denied.why}`,
      hint: HINT_NEVER,
    });
    return;
  }
  if (!rules.filters.includes(f.name)) {
    out.push({
      rule: 'firewall.filter',
      actual: filterRef,
      limit: [...rules.filters],
      message: `${at}: filter not allowed by the policy (allowed: ${list(rules.filters)})`,
      hint: HINT_POLICY,
    });
  }

  const fileOpts = Object.hasOwn(FILTER_FILE_OPTIONS, f.name) ? FILTER_FILE_OPTIONS[f.name] : undefined;
  let keyedSeen = false;
  f.args.forEach((a, n) => {
    if (a.key === undefined) {
      if (fileOpts && (keyedSeen || n >= fileOpts.positional)) {
        out.push({
          rule: 'firewall.filter-file',
          actual: ref(where.index, where.option, `${f.name}: ${show(a.value)}`),
          limit: `at most ${fileOpts.positional} leading positional values for ${f.name}`,
          message: `${at}: positional value ${n} ('${show(a.value)}') could bind to one of its file options (${Object.keys(fileOpts.keys).join(', ')})`,
          hint: `write ${f.name}'s options as key=value`,
        });
      }
      return;
    }
    keyedSeen = true;
    const key = a.key.toLowerCase();
    const known = fileOpts && Object.hasOwn(fileOpts.keys, key) ? fileOpts.keys[key] : undefined;
    if (known === 'fonts' && ctx.grants?.fonts === true) {
      if (looksLikeUrl(a.value) || a.value.split('/').includes('..') || a.value === '') {
        out.push({
          rule: 'firewall.filter-file',
          actual: ref(where.index, where.option, `${f.name}: ${a.key}=${show(a.value)}`),
          limit: 'a local font path without ..',
          message: `${at}: ${a.key} '${show(a.value)}' must be a plain local font path`,
          hint: 'name a font file from the font directories the policy grants',
        });
      }
      return;
    }
    if (known !== undefined || isGenericFileKey(key)) {
      out.push({
        rule: 'firewall.filter-file',
        actual: ref(where.index, where.option, `${f.name}: ${a.key}=${show(a.value)}`),
        limit: known === 'fonts' ? 'only with the fonts grant' : 'never allowed',
        message: `${at}: option '${a.key}' names a file to read or write`,
        hint: known === 'fonts' ? 'ask for a policy that grants fonts, or use the font option (a font family name)' : HINT_NEVER,
      });
    }
  });
}
