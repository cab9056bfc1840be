/**
 * A parser for ffmpeg filtergraph descriptions (-vf, -af, -filter_complex),
 * faithful to libavfilter 5.1 so that the firewall sees exactly the filters
 * and options ffmpeg will create.
 *
 * ffmpeg unescapes a description twice:
 *  1. graph level (graphparser.c): the filter name is a token ending at one of
 *     `=,;[`, the arguments a token ending at one of `[],;`, a link label a
 *     token ending at `]`. In a token, `\x` stands for x and `'…'` quotes
 *     verbatim (no escapes inside); leading whitespace is skipped and trailing
 *     unescaped whitespace dropped (av_get_token).
 *  2. argument level (avfilter.c process_options): the unescaped argument
 *     string is split into `key=value` or positional values separated by `:`,
 *     each value again an av_get_token ending at `:`. A key is a run of
 *     [A-Za-z0-9_./-] followed (after optional whitespace) by `=`; otherwise
 *     the value is positional and binds to the filter's options in declaration
 *     order (the N-th argument, keyed or not, counts as position N).
 *
 * So `mo\vie=a.mp4`, `'movie'=a.mp4` and `movie@x=a.mp4` all create the movie
 * filter; the parser returns the name ffmpeg will look up ("movie").
 *
 * Where ffmpeg would silently accept something odd (an unterminated quote, a
 * trailing backslash, an empty key, the `sws_flags=` prefix), this parser
 * refuses: a hostile string gets no benefit of the doubt.
 */

export interface FilterArg {
  /** The option name when written `key=value`; absent for a positional value. */
  readonly key?: string;
  /** The value after both levels of unescaping: what the filter receives. */
  readonly value: string;
}

export interface ParsedFilter {
  /** The filter class ffmpeg looks up (before any `@id`). Case-sensitive. */
  readonly name: string;
  /** The instance id after `@`, if any. */
  readonly id?: string;
  readonly args: readonly FilterArg[];
  /** Link labels before the filter (its inputs), unescaped, without brackets. */
  readonly inputs: readonly string[];
  /** Link labels after the filter (its outputs). */
  readonly outputs: readonly string[];
  /** Offset of the filter's name in the description (for messages). */
  readonly position: number;
}

export interface FilterChain {
  readonly filters: readonly ParsedFilter[];
}

export interface FilterGraph {
  readonly chains: readonly FilterChain[];
}

export interface FilterGraphParseError {
  readonly message: string;
  /** Offset in the description where parsing failed. */
  readonly position: number;
}

export type FilterGraphParseResult =
  | { readonly ok: true; readonly graph: FilterGraph }
  | { readonly ok: false; readonly error: FilterGraphParseError };

/** ffmpeg's WHITESPACES (libavutil/avstring.h). */
const WHITESPACE = ' \n\t\r';

/** Guard against absurd inputs before any work is done. */
export const MAX_FILTERGRAPH_LENGTH = 16384;
export const MAX_FILTERS = 256;

const FILTER_NAME = /^[A-Za-z0-9_]+$/;
const INSTANCE_ID = /^[A-Za-z0-9_.-]+$/;

class ParseError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

interface Token {
  readonly value: string;
  /** Index just past the token (at the terminator or end of string). */
  readonly end: number;
}

/**
 * av_get_token: read up to (not including) a character of `term`, honouring
 * backslash escapes and single quotes; skip leading whitespace, drop trailing
 * whitespace that was not escaped or quoted. `base` offsets error positions
 * when `s` is itself a slice of the description.
 */
function getToken(s: string, start: number, term: string, base: number, what: string): Token {
  let p = start;
  while (p < s.length && WHITESPACE.includes(s.charAt(p))) p++;
  let out = '';
  let protectedLen = 0; // characters up to here were escaped/quoted: never trimmed
  while (p < s.length && !term.includes(s.charAt(p))) {
    const c = s.charAt(p);
    p++;
    if (c === '\\') {
      if (p >= s.length) {
        throw new ParseError(`trailing backslash in ${what}: it escapes nothing`, base + p - 1);
      }
      out += s.charAt(p);
      p++;
      protectedLen = out.length;
    } else if (c === "'") {
      const close = s.indexOf("'", p);
      if (close < 0) throw new ParseError(`unterminated quote in ${what}`, base + p - 1);
      out += s.slice(p, close);
      p = close + 1;
      protectedLen = out.length;
    } else {
      out += c;
    }
  }
  let endTrim = out.length;
  while (endTrim > protectedLen && WHITESPACE.includes(out.charAt(endTrim - 1))) endTrim--;
  return { value: out.slice(0, endTrim), end: p };
}

function skipWhitespace(s: string, p: number): number {
  while (p < s.length && WHITESPACE.includes(s.charAt(p))) p++;
  return p;
}

/** Parse `[label][label]…` (graphparser parse_link_name, with whitespace between labels). */
function parseLabels(s: string, p: number, labels: string[]): number {
  while (s.charAt(p) === '[') {
    const open = p;
    const tok = getToken(s, p + 1, ']', 0, 'a link label');
    if (tok.value === '') throw new ParseError('empty link label', open);
    if (s.charAt(tok.end) !== ']') throw new ParseError("'[' without matching ']'", open);
    labels.push(tok.value);
    p = skipWhitespace(s, tok.end + 1);
  }
  return p;
}

function isKeyChar(c: string): boolean {
  return /^[A-Za-z0-9_./-]$/.test(c);
}

/**
 * Argument level (process_options / av_opt_get_key_value): split the
 * graph-unescaped argument string into keyed and positional values.
 */
export function parseFilterArgs(args: string, base = 0): FilterArg[] {
  const out: FilterArg[] = [];
  let p = 0;
  while (p < args.length) {
    // get_key: whitespace, key characters, whitespace, '='
    let k = skipWhitespace(args, p);
    const keyStart = k;
    while (k < args.length && isKeyChar(args.charAt(k))) k++;
    const keyEnd = k;
    k = skipWhitespace(args, k);
    let key: string | undefined;
    if (k < args.length && args.charAt(k) === '=') {
      key = args.slice(keyStart, keyEnd);
      if (key === '') throw new ParseError("empty option name before '='", base + keyStart);
      p = k + 1;
    }
    const tok = getToken(args, p, ':', base, 'a filter argument');
    out.push(key === undefined ? { value: tok.value } : { key, value: tok.value });
    p = tok.end;
    if (p < args.length) p++; // the ':' separator
  }
  return out;
}

/** Parse a filtergraph description. Never throws for bad input: returns an error with position. */
export function parseFilterGraph(description: string): FilterGraphParseResult {
  try {
    return { ok: true, graph: parseOrThrow(description) };
  } catch (e: unknown) {
    if (e instanceof ParseError) return { ok: false, error: { message: e.message, position: e.position } };
    throw e;
  }
}

function parseOrThrow(s: string): FilterGraph {
  if (s.length > MAX_FILTERGRAPH_LENGTH) {
    throw new ParseError(`filtergraph longer than ${MAX_FILTERGRAPH_LENGTH} characters`, MAX_FILTERGRAPH_LENGTH);
  }
  const ctl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(s);
  if (ctl) throw new ParseError('control character in filtergraph', ctl.index);
  let p = skipWhitespace(s, 0);
  if (s.startsWith('sws_flags=', p)) {
    // ffmpeg cuts this prefix at the first raw ';' with no unescaping: a second grammar. Not supported.
    throw new ParseError("the 'sws_flags=' graph prefix is not supported; use scale's flags option or -sws_flags", p);
  }
  if (p >= s.length) throw new ParseError('empty filtergraph', p);

  const chains: FilterChain[] = [];
  let current: ParsedFilter[] = [];
  let count = 0;
  for (;;) {
    p = skipWhitespace(s, p);
    const inputs: string[] = [];
    p = parseLabels(s, p, inputs);
    const namePos = skipWhitespace(s, p);
    const nameTok = getToken(s, p, '=,;[', 0, 'a filter name');
    p = nameTok.end;
    let rawArgs: string | undefined;
    let argsPos = p;
    if (s.charAt(p) === '=') {
      p++;
      argsPos = skipWhitespace(s, p);
      const argTok = getToken(s, p, '[],;', 0, 'filter arguments');
      rawArgs = argTok.value;
      p = argTok.end;
    }
    const { name, id } = splitName(nameTok.value, namePos);
    // Positions inside rawArgs are approximate once graph-level escapes were removed.
    const args = rawArgs === undefined ? [] : parseFilterArgs(rawArgs, argsPos);
    const outputs: string[] = [];
    p = parseLabels(s, p, outputs);
    if (++count > MAX_FILTERS) throw new ParseError(`more than ${MAX_FILTERS} filters`, namePos);
    current.push({ name, ...(id === undefined ? {} : { id }), args, inputs, outputs, position: namePos });

    p = skipWhitespace(s, p);
    if (p >= s.length) break;
    const chr = s.charAt(p);
    p++;
    if (chr === ',') continue;
    if (chr === ';') {
      chains.push({ filters: current });
      current = [];
      continue;
    }
    throw new ParseError(`unexpected '${chr}' after a filter (expected ',', ';' or the end)`, p - 1);
  }
  chains.push({ filters: current });
  return { chains };
}

function splitName(raw: string, position: number): { name: string; id: string | undefined } {
  if (raw === '') throw new ParseError('empty filter (nothing between separators)', position);
  const at = raw.indexOf('@');
  const name = at < 0 ? raw : raw.slice(0, at);
  const id = at < 0 ? undefined : raw.slice(at + 1);
  if (!FILTER_NAME.test(name)) {
    throw new ParseError(`'${raw}' is not a filter name (letters, digits and '_' only)`, position);
  }
  if (id !== undefined && !INSTANCE_ID.test(id)) {
    throw new ParseError(`'${raw}': the instance id after '@' must be letters, digits, '_', '.' or '-'`, position);
  }
  return { name, id };
}

/** Every filter of a graph, in order. */
export function filtersOf(graph: FilterGraph): ParsedFilter[] {
  return graph.chains.flatMap((c) => [...c.filters]);
}
