/**
 * Filtergraph checks: every filter of a -vf/-af/-filter_complex graph,
 * parsed exactly as libavfilter will create it (filtergraph.ts), is checked
 * against the fixed denials (denials.ts), the policy's filter allow-list, the
 * per-filter rules for options that name files, and the rule that a job has
 * one input (labels that refer to another input are refused).
 */
import type { Violation } from '../../errors.js';
import { deniedFilter } from './denials.js';
import { filtersOf, parseFilterGraph, type FilterArg, type ParsedFilter } from './filtergraph.js';
import { FIREWALL_RULES } from './rule-ids.js';
import type { FirewallContext, FirewallRules } from './types.js';
import { looksLikeUrl } from './url.js';
import { checkExpression, checkFilterBounds } from './output-bounds.js';
import { HINT_NEVER, list, neverAllowed, notInPolicy, ref, show } from './violation.js';

/** Where the graph was written: the argument index of its value and the option (`-vf`). */
export interface GraphSite {
  readonly index: number;
  readonly option: string;
}

/** One filter of a graph, and how messages name it. */
interface FilterSite {
  readonly filter: ParsedFilter;
  readonly where: GraphSite;
  /** "argument 3 (-vf), filter 'scale' at character 0" */
  readonly at: string;
}

type FilterRules = Pick<FirewallRules, 'filters'>;
type FilterContext = Pick<FirewallContext, 'grants' | 'output'>;

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
export function checkFilterGraph(description: string, rules: FilterRules, ctx: FilterContext, where: GraphSite): Violation[] {
  const out: Violation[] = [];
  const parsed = parseFilterGraph(description);
  if (!parsed.ok) {
    out.push({
      rule: FIREWALL_RULES.unparseableFiltergraph,
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
    checkInputLabels(f, produced, where, out);
  }
  return out;
}

/** Labels not produced inside the graph are inputs of the command line; only input 0 exists. */
function checkInputLabels(f: ParsedFilter, produced: ReadonlySet<string>, where: GraphSite, out: Violation[]): void {
  for (const label of f.inputs) {
    if (produced.has(label)) continue;
    const file = labelFileIndex(label);
    if (file !== 0) {
      out.push({
        rule: FIREWALL_RULES.extraInput,
        actual: ref(where.index, where.option, `[${label}]`),
        limit: 'input 0 only',
        message: `argument ${where.index}: filter '${f.name}' reads [${show(label)}], which refers to input ${file}; a job has exactly one input (0)`,
        hint: 'refer to input 0, e.g. [0:v]',
      });
    }
  }
}

function checkFilter(f: ParsedFilter, rules: FilterRules, ctx: FilterContext, where: GraphSite, out: Violation[]): void {
  const at = `argument ${where.index} (${where.option}), filter '${f.name}' at character ${f.position}`;
  const filterRef = ref(where.index, where.option, f.name);
  const denied = deniedFilter(f.name);
  if (denied) {
    out.push(neverAllowed(denied.rule, filterRef, `${at} is refused: it ${denied.why}`));
    return;
  }
  if (!rules.filters.includes(f.name)) {
    out.push(
      notInPolicy(FIREWALL_RULES.filter, filterRef, rules.filters, `${at}: filter not allowed by the policy (allowed: ${list(rules.filters)})`),
    );
  }
  // Every option value may be an expression (and `enable=` is one on every filter).
  for (const a of f.args) checkExpression(a.value, filterRef, `${at}${a.key !== undefined ? `, option ${a.key}` : ''}`, out);
  if (ctx.output) checkFilterBounds(f, filterRef, ctx.output, out);
  const fileOpts = Object.hasOwn(FILTER_FILE_OPTIONS, f.name) ? FILTER_FILE_OPTIONS[f.name] : undefined;
  let keyedSeen = false;
  f.args.forEach((a, n) => {
    if (a.key === undefined) {
      if (fileOpts && (keyedSeen || n >= fileOpts.positional)) {
        out.push({
          rule: FIREWALL_RULES.filterFile,
          actual: ref(where.index, where.option, `${f.name}: ${show(a.value)}`),
          limit: `at most ${fileOpts.positional} leading positional values for ${f.name}`,
          message: `${at}: positional value ${n} ('${show(a.value)}') could bind to one of its file options (${Object.keys(fileOpts.keys).join(', ')})`,
          hint: `write ${f.name}'s options as key=value`,
        });
      }
      return;
    }
    keyedSeen = true;
    checkKeyedArg({ filter: f, where, at }, { key: a.key, value: a.value }, fileOpts, ctx, out);
  });
}

/** A `key=value` filter argument: file-naming keys are refused, font files only with the fonts grant. */
function checkKeyedArg(
  site: FilterSite,
  a: Required<FilterArg>,
  fileOpts: FileOptions | undefined,
  ctx: FilterContext,
  out: Violation[],
): void {
  const { at, where } = site;
  const key = a.key.toLowerCase();
  const known = fileOpts && Object.hasOwn(fileOpts.keys, key) ? fileOpts.keys[key] : undefined;
  const argRef = ref(where.index, where.option, `${site.filter.name}: ${a.key}=${show(a.value)}`);
  if (known === 'fonts' && ctx.grants?.fonts === true) {
    if (looksLikeUrl(a.value) || a.value.split('/').includes('..') || a.value === '') {
      out.push({
        rule: FIREWALL_RULES.filterFile,
        actual: argRef,
        limit: 'a local font path without ..',
        message: `${at}: ${a.key} '${show(a.value)}' must be a plain local font path`,
        hint: 'name a font file from the font directories the policy grants',
      });
    }
    return;
  }
  if (known !== undefined || isGenericFileKey(key)) {
    out.push({
      rule: FIREWALL_RULES.filterFile,
      actual: argRef,
      limit: known === 'fonts' ? 'only with the fonts grant' : 'never allowed',
      message: `${at}: option '${a.key}' names a file to read or write`,
      hint: known === 'fonts' ? 'ask for a policy that grants fonts, or use the font option (a font family name)' : HINT_NEVER,
    });
  }
}
