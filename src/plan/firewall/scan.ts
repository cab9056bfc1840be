/**
 * The argument firewall's entry: raw passthrough ffmpeg output arguments (what
 * a user writes after `--` in `zt-ffmpeg run -i in -o out -- ARGS`), read
 * exactly as ffmpeg 5.1 reads them.
 *
 * zt-ffmpeg supplies the input, the output path and its own hardening; ARGS
 * are untrusted. ffmpeg drops one dash, takes the name up to the first ':',
 * and consumes the next element as the value of an option that takes one,
 * whatever it looks like. The scanner does the same, so that it and ffmpeg
 * cannot disagree about which element is an option and which a value (a
 * disagreement is how a hidden second output would slip through). Every
 * option is then checked against the fixed denials (denials.ts), the policy's
 * allow-list and the grammar of its value (values.ts). Every problem is
 * collected, not just the first: after a refusal the scanner still consumes
 * what ffmpeg would, so later violations are reported at the right place.
 *
 * Pure: no I/O, no clock, no environment.
 */
import path from 'node:path';
import { unreachable, type Violation } from '../../errors.js';
import type { DeniedOption } from './denials.js';
import { MAX_ARG_LENGTH, MAX_ARGS } from './limits.js';
import { resolveOption, type OptionSpec, type ResolvedOption } from './options.js';
import { FIREWALL_RULES } from './rule-ids.js';
import type { AcceptedOption, FirewallAccepted, FirewallContext, FirewallResult, FirewallRules } from './types.js';
import { looksLikeUrl, urlViolation } from './url.js';
import { checkValue, CONTROL } from './values.js';
import { HINT_NEVER, HINT_OUTPUT, HINT_POLICY, HINT_WRAPPER, notInPolicy, ref, show } from './violation.js';

const STREAM_SPEC = /^[A-Za-z0-9_#.:=-]{1,64}$/;

/** The state of one scan: its inputs, the violations so far and the options that passed. */
interface Scan {
  readonly args: readonly string[];
  readonly rules: FirewallRules;
  readonly ctx: FirewallContext;
  readonly allowedOptions: ReadonlySet<string>;
  readonly out: Violation[];
  readonly accepted: AcceptedOption[];
}

type Resolved<S extends ResolvedOption['status']> = Extract<ResolvedOption, { readonly status: S }>;

/** Check raw passthrough output arguments against the policy's allow-lists and the fixed denials. */
export function checkPassthroughArgs(args: readonly string[], rules: FirewallRules, ctx: FirewallContext): FirewallResult {
  if (!path.isAbsolute(ctx.jobDir)) {
    throw new Error(`internal error: firewall needs an absolute job directory, got '${ctx.jobDir}'`);
  }
  if (args.length > MAX_ARGS) {
    return {
      ok: false,
      violations: [
        {
          rule: FIREWALL_RULES.limit,
          actual: args.length,
          limit: MAX_ARGS,
          message: `${args.length} passthrough arguments; at most ${MAX_ARGS} are accepted`,
          hint: HINT_POLICY,
        },
      ],
    };
  }
  const scan: Scan = { args, rules, ctx, allowedOptions: new Set(rules.options), out: [], accepted: [] };
  let i = 0;
  while (i < args.length) i = readArgument(scan, i);
  return scan.out.length === 0 ? accept(args, scan.accepted) : { ok: false, violations: scan.out };
}

/**
 * What passed, and the output format as ffmpeg will see it: of several -f the
 * last one wins. outputArgs drops every -f and its value so that the wrapper
 * can pass that one muxer itself, last. Only accepted options count, so an
 * option's value that happens to read "-f" is never dropped.
 */
function accept(args: readonly string[], accepted: readonly AcceptedOption[]): FirewallAccepted {
  const formats = accepted.filter((o) => o.name === 'f');
  const muxer = formats.at(-1)?.value;
  const formatArgs = new Set(formats.flatMap((o) => [o.index, o.index + 1]));
  const outputArgs = args.filter((_, i) => !formatArgs.has(i));
  return { ok: true, args: [...args], options: accepted, ...(muxer === undefined ? {} : { muxer }), outputArgs };
}

/** Read the argument at `index` (and what it consumes); returns the index of the next unread argument. */
function readArgument(s: Scan, index: number): number {
  const arg = s.args[index] ?? '';
  if (arg === '--') return readSeparator(s, index);
  if (!arg.startsWith('-') || arg === '-') {
    positional(index, arg, s.out);
    return index + 1;
  }
  if (arg.length > MAX_ARG_LENGTH || CONTROL.test(arg)) {
    s.out.push({
      rule: FIREWALL_RULES.option,
      actual: ref(index, show(arg)),
      limit: 'a plain option name',
      message: `argument ${index} is not a plausible option name (too long or control characters)`,
      hint: HINT_POLICY,
    });
    return index + 1;
  }
  const r = resolveOption(arg);
  switch (r.status) {
    case 'denied':
      return readDenied(s, index, arg, r.denial);
    case 'negation':
      s.out.push({
        rule: FIREWALL_RULES.option,
        actual: ref(index, arg),
        limit: 'no -no… negations',
        message: `argument ${index} '${arg}': negated options (-no${r.negated}) are not accepted`,
        hint: `leave -${r.negated} out instead of negating it`,
      });
      return index + 1;
    case 'unknown':
      return readUnknown(s, index, arg, r);
    case 'known':
      return readKnown(s, index, arg, r);
    default:
      return unreachable(r);
  }
}

/** ffmpeg: the argument after '--' is an output file name, even if it starts with '-'. */
function readSeparator(s: Scan, index: number): number {
  s.out.push({
    rule: FIREWALL_RULES.secondOutput,
    actual: ref(index, '--'),
    limit: 'no output file names',
    message: `argument ${index} '--' makes the next argument an output file name`,
    hint: HINT_OUTPUT,
  });
  const next = index + 1;
  if (next >= s.args.length) return next;
  positional(next, s.args[next] ?? '', s.out);
  return next + 1;
}

/** A non-option argument: for ffmpeg, another output file. */
function positional(index: number, arg: string, out: Violation[]): void {
  out.push({
    rule: FIREWALL_RULES.secondOutput,
    actual: ref(index, show(arg)),
    limit: 'no output file names',
    message: `argument ${index} '${show(arg)}' is not an option: ffmpeg would treat it as a second output`,
    hint: HINT_OUTPUT,
  });
  if (looksLikeUrl(arg)) out.push(urlViolation(index, arg, arg));
}

/** A fixed denial; consumes the value as ffmpeg would, and names a URL in it too. */
function readDenied(s: Scan, index: number, arg: string, denial: DeniedOption): number {
  let next = index + 1;
  const takesNext = denial.consumes === 'value' || (denial.consumes === 'optional' && next < s.args.length);
  const value = takesNext && next < s.args.length ? s.args[next] : undefined;
  if (takesNext) next++;
  s.out.push({
    rule: denial.rule,
    actual: ref(index, arg, value),
    limit: 'never allowed',
    message: `argument ${index} '${arg}' is refused: it ${denial.why}`,
    hint: denial.rule === FIREWALL_RULES.wrapperOwned ? HINT_WRAPPER : HINT_NEVER,
  });
  if (value !== undefined && looksLikeUrl(value)) s.out.push(urlViolation(index + 1, arg, value));
  return next;
}

/**
 * An option the catalogue does not know. ffmpeg would look it up as an
 * AVOption, which consumes a value; skip a plausible one so that later
 * violations are still reported at the right place.
 */
function readUnknown(s: Scan, index: number, arg: string, r: Resolved<'unknown'>): number {
  const next = s.args[index + 1];
  const value = next !== undefined && !next.startsWith('-') ? next : undefined;
  const message = r.written.startsWith('/')
    ? `argument ${index} '${arg}': '-/option' reads the option's value from a file; refused`
    : `argument ${index} '${arg}' is not an option zt-ffmpeg knows how to check; unknown options are refused`;
  s.out.push(notInPolicy(FIREWALL_RULES.option, ref(index, arg, value), s.rules.options, message));
  if (value !== undefined && looksLikeUrl(value)) s.out.push(urlViolation(index + 1, arg, value));
  return value === undefined ? index + 1 : index + 2;
}

/** A catalogue option: the policy's allow-list, its stream specifier, then its value. */
function readKnown(s: Scan, index: number, arg: string, r: Resolved<'known'>): number {
  const { spec } = r;
  if (!s.allowedOptions.has(r.written) && !s.allowedOptions.has(r.canonical)) {
    s.out.push(
      notInPolicy(FIREWALL_RULES.option, ref(index, arg), s.rules.options, `argument ${index} '${arg}': option '${r.written}' is not allowed by the policy`),
    );
  }
  const specProblem = checkSpecifier(r.writtenSpec, r.aliasSpec, spec);
  if (specProblem !== undefined) {
    s.out.push({
      rule: FIREWALL_RULES.streamSpecifier,
      actual: ref(index, arg),
      limit: spec.perStream ? 'a stream specifier such as v, a, v:0, a:1' : 'no stream specifier',
      message: `argument ${index} '${arg}': ${specProblem}`,
      hint: 'write the option as documented, e.g. -c:v, -b:a:0, -vcodec',
    });
  }
  const streamSpec = r.writtenSpec ?? r.aliasSpec;
  const option = { index, name: r.canonical, ...(streamSpec === undefined ? {} : { spec: streamSpec }) };
  if (!spec.takesValue) {
    s.accepted.push(option);
    return index + 1;
  }
  const valueIndex = index + 1;
  if (valueIndex >= s.args.length) {
    s.out.push({
      rule: FIREWALL_RULES.missingValue,
      actual: ref(index, arg),
      limit: `a ${spec.kind} value`,
      message: `argument ${index} '${arg}' needs a value and none follows`,
      hint: `write ${arg} VALUE`,
    });
    return valueIndex;
  }
  const value = s.args[valueIndex] ?? '';
  const before = s.out.length;
  checkValue({ index: valueIndex, option: arg, canonical: r.canonical, value, spec }, s.rules, s.ctx, s.out);
  if (s.out.length === before) s.accepted.push({ ...option, value });
  return valueIndex + 1;
}

function checkSpecifier(written: string | undefined, aliasSpec: string | undefined, spec: OptionSpec): string | undefined {
  if (written === undefined) return undefined;
  if (aliasSpec !== undefined) return `this alias already means ':${aliasSpec}'; write the full form with a specifier instead`;
  if (!spec.perStream) return 'this option takes no stream specifier';
  if (!STREAM_SPEC.test(written)) return `'${show(written)}' is not a stream specifier`;
  return undefined;
}
