/**
 * What raw arguments say about the output's size and cost, checked before the run: a frame
 * rate (-r, fps=), a picture size (-s, scale=, pad=, rotate=) the firewall can read past the
 * policy's `output` limits; expressions that never end (`while`) or flood the diagnostics
 * (`print`); and metadata mappings, which only the policy may switch on (output.keepMetadata).
 *
 * Only values the firewall can read are judged here: a literal as libavutil's av_strtod reads
 * it (decimal, exponent, hex, SI postfix), a ratio of two, or a size/rate name. Expressions
 * (`iw*20`, `source_fps*1000`) pass, and the monitor (ffmpeg's -progress report) and the
 * verification of the output bound them instead: this is the early, exact refusal, not the
 * only wall.
 */
import type { Violation } from '../../errors.js';
import type { FilterArg, ParsedFilter } from './filtergraph.js';
import { FIREWALL_RULES } from './rule-ids.js';
import type { ArgRef, OutputBounds } from './types.js';
import { ref, show } from './violation.js';

/** av_parse_video_size's abbreviations (libavutil/parseutils.c), as [width, height]. */
const SIZE_NAMES: Readonly<Record<string, readonly [number, number]>> = {
  ntsc: [720, 480], pal: [720, 576], qntsc: [352, 240], qpal: [352, 288], sntsc: [640, 480], spal: [768, 576],
  film: [352, 240], 'ntsc-film': [352, 240], sqcif: [128, 96], qcif: [176, 144], cif: [352, 288], '4cif': [704, 576],
  '16cif': [1408, 1152], qqvga: [160, 120], qvga: [320, 240], vga: [640, 480], svga: [800, 600], xga: [1024, 768],
  uxga: [1600, 1200], qxga: [2048, 1536], sxga: [1280, 1024], qsxga: [2560, 2048], hsxga: [5120, 4096],
  wvga: [852, 480], wxga: [1366, 768], wsxga: [1600, 1024], wuxga: [1920, 1200], woxga: [2560, 1600],
  wqhd: [2560, 1440], wqsxga: [3200, 2048], wquxga: [3840, 2400], whsxga: [6400, 4096], whuxga: [7680, 4800],
  cga: [320, 200], ega: [640, 350], hd480: [852, 480], hd720: [1280, 720], hd1080: [1920, 1080], quhd: [3840, 2160],
  '2k': [2048, 1080], '2kdci': [2048, 1080], '2kflat': [1998, 1080], '2kscope': [2048, 858], '4k': [4096, 2160],
  '4kdci': [4096, 2160], '4kflat': [3996, 2160], '4kscope': [4096, 1716], nhd: [640, 360], hqvga: [240, 160],
  wqvga: [400, 240], fwqvga: [432, 240], hvga: [480, 320], qhd: [960, 540], uhd2160: [3840, 2160], uhd4320: [7680, 4320],
};

/** av_parse_video_rate's abbreviations. */
const RATE_NAMES: Readonly<Record<string, number>> = {
  ntsc: 30000 / 1001, pal: 25, qntsc: 30000 / 1001, qpal: 25, sntsc: 30000 / 1001, spal: 25, film: 24, 'ntsc-film': 24000 / 1001,
};

/** av_strtod's SI postfixes (decimal values; with an `i`, powers of 1024). */
const SI: Readonly<Record<string, number>> = {
  y: -24, z: -21, a: -18, f: -15, p: -12, n: -9, u: -6, m: -3, c: -2, d: -1, h: 2, k: 3, K: 3, M: 6, G: 9, T: 12, P: 15, E: 18, Z: 21, Y: 24,
};

/** Pure: a whole string that is one numeric literal as av_strtod reads it; undefined otherwise. */
export function readLiteral(text: string): number | undefined {
  const s = text.trim();
  if (/^0[xX][0-9a-fA-F]{1,15}$/.test(s)) return parseInt(s.slice(2), 16);
  // "dB" is decibels, not deci-bytes (av_strtod).
  const db = /^([+-]?(?:\d+\.?\d*|\.\d+))dB$/.exec(s);
  if (db) return 10 ** (Number(db[1]) / 20);
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:([yzafpnumcdhkKMGTPEZY])(i)?)?(B)?$/.exec(s);
  if (!m) return undefined;
  let n = Number(m[1]);
  const prefix = m[2];
  if (prefix !== undefined) {
    const exp = SI[prefix] ?? 0;
    n *= m[3] === 'i' ? 1024 ** (exp / 3) : 10 ** exp;
  }
  if (m[4] === 'B') n *= 8;
  return Number.isFinite(n) ? n : undefined;
}

/** Pure: a frame rate the firewall can read (a literal, a ratio of two, or a name). */
export function readRate(text: string): number | undefined {
  const s = text.trim();
  if (Object.hasOwn(RATE_NAMES, s)) return RATE_NAMES[s];
  const slash = s.indexOf('/');
  if (slash < 0) return readLiteral(s);
  const num = readLiteral(s.slice(0, slash));
  const den = readLiteral(s.slice(slash + 1));
  return num !== undefined && den !== undefined && den !== 0 ? num / den : undefined;
}

/** Pure: WIDTHxHEIGHT or a size name, as av_parse_video_size reads it. */
export function readSize(text: string): { width: number; height: number } | undefined {
  const s = text.trim();
  const named = Object.hasOwn(SIZE_NAMES, s) ? SIZE_NAMES[s] : undefined;
  if (named) return { width: named[0], height: named[1] };
  const m = /^(\d{1,9})x(\d{1,9})$/.exec(s);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

const HINT_BOUNDS = "the output may not be larger or faster than the policy's output limits allow; ask for a policy that allows it";

function over(rule: Violation['rule'], at: ArgRef, actual: number, limit: number, what: string): Violation {
  return { rule, actual: { ...at, value: `${what} ${actual}` }, limit, message: `argument ${at.index} (${at.arg}): ${what} ${actual} is over the limit of ${limit}`, hint: HINT_BOUNDS };
}

export function checkFrameRate(rate: number | undefined, at: ArgRef, b: OutputBounds, out: Violation[]): void {
  if (rate !== undefined && rate > b.maxFrameRate) out.push(over('output.maxFrameRate', at, Math.round(rate * 1000) / 1000, b.maxFrameRate, 'frame rate'));
}

/** A width and/or height (either may be unreadable), and their product when both are known. */
export function checkPictureSize(width: number | undefined, height: number | undefined, at: ArgRef, b: OutputBounds, out: Violation[]): void {
  if (width !== undefined && width > b.maxWidth) out.push(over('output.maxWidth', at, width, b.maxWidth, 'width'));
  if (height !== undefined && height > b.maxHeight) out.push(over('output.maxHeight', at, height, b.maxHeight, 'height'));
  if (width !== undefined && height !== undefined && width * height > b.maxPixels) out.push(over('output.maxPixels', at, width * height, b.maxPixels, 'width × height'));
}

/**
 * The options of a filter, by name, as libavfilter binds them: positional values to the
 * filter's options in declared order (aliases skipped), only before the first key=value.
 */
function optionValues(args: readonly FilterArg[], positional: readonly string[], aliases: Readonly<Record<string, string>>): Map<string, string> {
  const values = new Map<string, string>();
  let keyed = false;
  args.forEach((a, i) => {
    if (a.key !== undefined) {
      keyed = true;
      values.set(aliases[a.key] ?? a.key, a.value);
    } else if (!keyed && positional[i] !== undefined) {
      values.set(positional[i], a.value);
    }
  });
  return values;
}

/** Filters whose options set the output's picture size or frame rate. */
const SIZE_FILTERS: Readonly<Record<string, { readonly positional: readonly string[]; readonly aliases: Readonly<Record<string, string>> }>> = {
  scale: { positional: ['w', 'h'], aliases: { width: 'w', height: 'h', s: 'size' } },
  pad: { positional: ['w', 'h'], aliases: { width: 'w', height: 'h' } },
  rotate: { positional: ['a', 'w', 'h'], aliases: { out_w: 'w', ow: 'w', out_h: 'h', oh: 'h', angle: 'a' } },
  fps: { positional: ['fps'], aliases: {} },
};

/** The size and rate a filter sets, where its values are literals; nothing is said about the rest. */
export function checkFilterBounds(f: ParsedFilter, at: ArgRef, b: OutputBounds, out: Violation[]): void {
  const spec = Object.hasOwn(SIZE_FILTERS, f.name) ? SIZE_FILTERS[f.name] : undefined;
  if (!spec) return;
  const v = optionValues(f.args, spec.positional, spec.aliases);
  if (f.name === 'fps') {
    const fps = v.get('fps');
    if (fps !== undefined) checkFrameRate(readRate(fps), at, b, out);
    return;
  }
  // scale=1280x720 (one positional, no height) is a size string: vf_scale swaps it into `size`.
  const first = f.args[0];
  const single = f.name === 'scale' && f.args.length === 1 && first !== undefined && first.key === undefined ? readSize(first.value) : undefined;
  const size = single ?? (v.has('size') ? readSize(v.get('size') ?? '') : undefined);
  const w = size?.width ?? readDimension(v.get('w'));
  const h = size?.height ?? readDimension(v.get('h'));
  checkPictureSize(w, h, at, b, out);
}

/** A literal dimension; negative values (-1, -2: keep the aspect ratio) say nothing here. */
function readDimension(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = readLiteral(value);
  return n !== undefined && n > 0 ? Math.ceil(n) : undefined;
}

/**
 * The functions of libavutil's expression language that must not run on a server: `while`
 * loops until its condition is 0, which an expression can make never happen; `print` writes to
 * the log on every evaluation. A call counts as eval.c's parse_primary() reads one: the
 * identifier itself (strmatch: not part of a longer name), then whatever comes before the next
 * '(' is skipped. A bare word with no '(' after it (metadata=mode=print) is no call.
 */
const DANGEROUS_FUNCTION = /(?:^|[^A-Za-z0-9_])(while|print)(?![A-Za-z0-9_])[^(]*\(/;

/** An expression value (filter option, -force_key_frames expr:) that calls while() or print(). */
export function checkExpression(value: string, at: ArgRef, where: string, out: Violation[]): void {
  const m = DANGEROUS_FUNCTION.exec(value);
  if (!m) return;
  const fn = m[1] ?? '';
  out.push({
    rule: FIREWALL_RULES.expression,
    actual: { ...at, value: show(value) },
    limit: 'no while() or print() in expressions',
    message: `${where}: the expression calls ${fn}(), which ${fn === 'while' ? 'can loop forever' : 'writes to the log on every evaluation'}`,
    hint: 'write the expression without it, or use a named operation (--operation)',
  });
}

/**
 * -map_metadata and -map_chapters: only -1 (drop). Copying the input's tags is a policy choice
 * (output.keepMetadata) or a vetted operation's template, never a raw argument.
 */
export function checkMetadataMapping(index: number, option: string, value: string, out: Violation[]): void {
  if (value === '-1') return;
  out.push({
    rule: 'output.keepMetadata',
    actual: ref(index, option, show(value)),
    limit: '-1 (the input\'s metadata is never mapped by raw arguments)',
    message: `argument ${index} '${show(value)}' for ${option} would copy the input's metadata into the output`,
    hint: 'leave it out: metadata is stripped unless the policy sets output.keepMetadata, or a vetted operation keeps it',
  });
}
