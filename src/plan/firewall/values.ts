/**
 * The value grammar per option kind: what the value of each passthrough
 * option may look like, and the checks that go beyond a pattern (encoders and
 * muxers against the policy, references to inputs other than 0, paths outside
 * the job directory, filtergraphs).
 *
 * The grammars are deliberately narrower than what ffmpeg accepts: a value
 * that only an unusual spelling would need is refused rather than understood,
 * so that no value can smuggle in something ffmpeg reads differently.
 */
import path from 'node:path';
import { unreachable, type Violation } from '../../errors.js';
import { deniedMuxer, DENIED_ENCODER_PATTERN } from './denials.js';
import { checkFilterGraph } from './filters.js';
import { MAX_FILTERGRAPH_LENGTH } from './filtergraph.js';
import { DEFAULT_MAX_THREADS, MAX_ARG_LENGTH, MAX_METADATA_VALUE_LENGTH } from './limits.js';
import type { OptionKind, OptionSpec } from './options.js';
import { FIREWALL_RULES } from './rule-ids.js';
import type { FirewallContext, FirewallRules } from './types.js';
import { looksLikeUrl, urlViolation } from './url.js';
import { checkExpression, checkFrameRate, checkMetadataMapping, checkPictureSize, readRate, readSize } from './output-bounds.js';
import { HINT_POLICY, list, neverAllowed, notInPolicy, ref, show } from './violation.js';

export const CONTROL = /[\u0000-\u001f\u007f]/;
/** Filtergraphs may be written over several lines (tabs and newlines are whitespace there). */
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

/** Kinds whose whole grammar is one pattern. */
type PatternKind = Extract<
  OptionKind,
  'bitrate' | 'duration' | 'size' | 'rate' | 'aspect' | 'pixfmt' | 'samplefmt' | 'chlayout' | 'flags' | 'disposition' | 'forceKeyFrames' | 'timecode'
>;

interface Grammar {
  readonly pattern: RegExp;
  /** What a valid value looks like, for the message. */
  readonly expected: string;
}

const FORMAT_NAME: Grammar = { pattern: /^[a-z0-9_]{1,32}$/, expected: 'a format name such as yuv420p or fltp' };

const GRAMMAR: Readonly<Record<PatternKind, Grammar>> = {
  bitrate: { pattern: /^\d{1,12}(\.\d{1,6})?[kKMG]?$/, expected: 'a bit rate such as 128k, 2.5M or 800000' },
  duration: {
    pattern: /^(\d{1,9}(\.\d{1,9})?(s|ms|us)?|(\d{1,9}:)?\d{1,2}:\d{1,2}(\.\d{1,9})?)$/,
    expected: 'a duration such as 10, 2.5, 500ms or 00:01:02.5',
  },
  size: { pattern: /^(\d{1,5}x\d{1,5}|[a-z][a-z0-9]{1,11})$/, expected: 'WIDTHxHEIGHT or a size name such as hd720' },
  rate: {
    pattern: /^(\d{1,7}(\.\d{1,6})?(\/\d{1,7}(\.\d{1,6})?)?|[a-z][a-z0-9-]{1,15})$/,
    expected: 'a rate such as 30, 29.97, 30000/1001 or ntsc',
  },
  aspect: { pattern: /^\d{1,5}(\.\d{1,6})?([:/]\d{1,5}(\.\d{1,6})?)?$/, expected: 'an aspect ratio such as 16:9 or 1.7777' },
  pixfmt: FORMAT_NAME,
  samplefmt: FORMAT_NAME,
  chlayout: { pattern: /^[A-Za-z0-9_.()+|-]{1,64}$/, expected: 'a channel layout such as stereo or 5.1(side)' },
  flags: { pattern: /^[+-]?[A-Za-z0-9_]{1,64}([+-][A-Za-z0-9_]{1,64}){0,31}$/, expected: 'flags such as +faststart' },
  disposition: {
    pattern: /^(0|[+-]?[a-z_]{1,32}([+-][a-z_]{1,32}){0,15})$/,
    expected: 'dispositions such as default or +default-forced',
  },
  forceKeyFrames: {
    pattern:
      /^(expr:[A-Za-z0-9_().,+\-*/<>=!&| ]{1,256}|source|source_no_drop|chapters([+-]\d{1,6}(\.\d{1,6})?)?|[0-9:.]{1,16}(,[0-9:.]{1,16}){0,255})$/,
    expected: 'expr:EXPRESSION, source, chapters or a list of times',
  },
  timecode: { pattern: /^\d{2}:\d{2}:\d{2}[:;.]\d{2}$/, expected: 'a timecode hh:mm:ss:ff' },
};

/**
 * A short word. A leading '-' only for numbers: a value such as "-f" would be
 * misread by anything that scans the argument list for option names.
 */
const TOKEN = /^(-?\d{1,12}(\.\d{1,6})?|[A-Za-z0-9_.+][A-Za-z0-9_.+-]{0,63})$/;

export interface ValueCheck {
  /** Index of the value in the passthrough arguments. */
  readonly index: number;
  /** The option as written (`-c:v`), for messages. */
  readonly option: string;
  readonly canonical: string;
  readonly value: string;
  readonly spec: OptionSpec;
}

/** Reports a value outside its grammar. */
type Bad = (expected: string, detail?: string) => void;

/** Check one option value: bounds, control characters and URLs first, then the grammar of its kind. */
export function checkValue(v: ValueCheck, rules: FirewallRules, ctx: FirewallContext, out: Violation[]): void {
  const { value, spec } = v;
  const bad: Bad = (expected, detail) => {
    out.push({
      rule: FIREWALL_RULES.value,
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
  checkKind(v, rules, ctx, out, bad);
}

function checkKind(v: ValueCheck, rules: FirewallRules, ctx: FirewallContext, out: Violation[], bad: Bad): void {
  const { value, spec } = v;
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
    case 'number':
      checkNumber(v, spec.kind, ctx, bad);
      return;
    case 'token':
      if (spec.values !== undefined) {
        if (!spec.values.includes(value)) bad(`one of ${spec.values.join(', ')}`);
      } else if (!TOKEN.test(value)) {
        bad('a short word of letters, digits, _ . + - (not starting with -)');
      }
      return;
    case 'map':
      checkMap(v, out, bad);
      return;
    case 'mapMetadata':
      if (checkInputRef(v, /^(-1|\d+)(:[A-Za-z0-9_#.:-]{0,64})?$/, 'an input reference such as 0, 0:g, 0:s:0 or -1', out, bad)) checkMetadataMapping(v.index, v.option, value, out);
      return;
    case 'mapChapters':
      if (checkInputRef(v, /^(-1|\d+)$/, '0 or -1', out, bad)) checkMetadataMapping(v.index, v.option, value, out);
      return;
    case 'metadata':
      checkMetadata(v, out, bad);
      return;
    case 'path':
      checkJobPath(v, ctx.jobDir, out);
      return;
    case 'bitrate':
    case 'duration':
    case 'size':
    case 'rate':
    case 'aspect':
    case 'pixfmt':
    case 'samplefmt':
    case 'chlayout':
    case 'flags':
    case 'disposition':
    case 'forceKeyFrames':
    case 'timecode': {
      const g = GRAMMAR[spec.kind];
      if (!g.pattern.test(value)) bad(g.expected);
      else checkOutputValue(v, ctx, out);
      return;
    }
    default:
      unreachable(spec.kind);
  }
}

/** Values that say what the output will be: -r and -s against the policy's output limits; expressions. */
function checkOutputValue(v: ValueCheck, ctx: FirewallContext, out: Violation[]): void {
  const at = ref(v.index, v.option, show(v.value));
  if (v.spec.kind === 'forceKeyFrames' && v.value.startsWith('expr:')) checkExpression(v.value, at, `argument ${v.index} (${v.option})`, out);
  const b = ctx.output;
  if (!b) return;
  if (v.canonical === 'r') checkFrameRate(readRate(v.value), at, b, out);
  if (v.canonical === 's') {
    const size = readSize(v.value);
    checkPictureSize(size?.width, size?.height, at, b, out);
  }
}

function tooLong(index: number, arg: string): Violation {
  return {
    rule: FIREWALL_RULES.limit,
    actual: ref(index, show(arg)),
    limit: MAX_ARG_LENGTH,
    message: `argument ${index} is ${arg.length} characters long; at most ${MAX_ARG_LENGTH} are accepted`,
    hint: HINT_POLICY,
  };
}

/** Integers and decimals within the table's bounds; -threads also within the wrapper's bound. */
function checkNumber(v: ValueCheck, kind: 'int' | 'number', ctx: FirewallContext, bad: Bad): void {
  const { value, spec } = v;
  const re = kind === 'int' ? /^-?\d{1,13}$/ : /^-?\d{1,13}(\.\d{1,9})?$/;
  if (!re.test(value)) return bad(kind === 'int' ? 'an integer' : 'a number');
  const n = Number(value);
  const max = v.canonical === 'threads' ? Math.min(spec.max ?? Infinity, ctx.maxThreads ?? DEFAULT_MAX_THREADS) : spec.max;
  if ((spec.min !== undefined && n < spec.min) || (max !== undefined && n > max)) {
    bad(`a number from ${spec.min ?? '-∞'} to ${max ?? '∞'}`);
  }
}

function checkEncoder(v: ValueCheck, rules: FirewallRules, out: Violation[], bad: Bad): void {
  const { value } = v;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) return bad('an encoder name');
  const at = ref(v.index, v.option, value);
  if (DENIED_ENCODER_PATTERN.test(value)) {
    out.push(
      neverAllowed(FIREWALL_RULES.encoder, at, `argument ${v.index} '${value}' is a hardware encoder; it needs a device the sandbox does not expose`),
    );
    return;
  }
  if (!rules.encoders.includes(value)) {
    out.push(
      notInPolicy(FIREWALL_RULES.encoder, at, rules.encoders, `argument ${v.index} '${value}': encoder not allowed by the policy (allowed: ${list(rules.encoders)})`),
    );
  }
}

function checkMuxer(v: ValueCheck, rules: FirewallRules, out: Violation[], bad: Bad): void {
  const { value } = v;
  if (!/^[A-Za-z0-9_]{1,32}$/.test(value)) return bad('a muxer name such as mp4');
  const at = ref(v.index, v.option, value);
  const why = deniedMuxer(value);
  if (why !== undefined) {
    out.push(neverAllowed(FIREWALL_RULES.muxer, at, `argument ${v.index} '${value}' is refused as an output format: it ${why}`));
    return;
  }
  if (!rules.muxers.includes(value)) {
    out.push(
      notInPolicy(FIREWALL_RULES.muxer, at, rules.muxers, `argument ${v.index} '${value}': output format not allowed by the policy (allowed: ${list(rules.muxers)})`),
    );
  }
}

function extraInput(v: ValueCheck, file: string, out: Violation[]): void {
  out.push({
    rule: FIREWALL_RULES.extraInput,
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

/** True when the value is a reference to input 0 or -1 (anything else has been reported). */
function checkInputRef(v: ValueCheck, re: RegExp, expected: string, out: Violation[], bad: Bad): boolean {
  const m = re.exec(v.value);
  if (!m) {
    bad(expected);
    return false;
  }
  const file = m[1] ?? '';
  if (file !== '0' && file !== '-1') {
    extraInput(v, file, out);
    return false;
  }
  return true;
}

function checkMetadata(v: ValueCheck, out: Violation[], bad: Bad): void {
  const eq = v.value.indexOf('=');
  if (eq < 0) return bad('key=value');
  const key = v.value.slice(0, eq);
  const val = v.value.slice(eq + 1);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) return bad('key=value with a key of letters, digits, _ . -');
  if (val.length > MAX_METADATA_VALUE_LENGTH) {
    out.push({
      rule: FIREWALL_RULES.metadata,
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
      rule: FIREWALL_RULES.path,
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
