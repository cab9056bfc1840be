/**
 * The argument firewall for raw passthrough ffmpeg output arguments. Allow-lists
 * come from the policy; on top of them a fixed set of things is refused
 * whatever the policy says (extra inputs, second outputs, URLs, options and
 * filters that read or write other files or reach the network).
 *
 * Where the rules live:
 *   scan.ts        reading argv as ffmpeg 5.1 does; checkPassthroughArgs
 *   options.ts     the catalogue of options ffmpeg takes and how a token resolves
 *   values.ts      the value grammar per option kind
 *   filters.ts     filtergraph checks and per-filter rules (file options)
 *   filtergraph.ts the filtergraph parser, faithful to libavfilter
 *   denials.ts     everything refused whatever the policy says
 *   rule-ids.ts    the rule ids violations carry
 *   limits.ts      size bounds of the arguments themselves
 *   output-bounds.ts rates and sizes the arguments give the output, expressions, metadata
 */
export { checkPassthroughArgs } from './scan.js';
export { checkFilterGraph, type GraphSite } from './filters.js';
export { looksLikeUrl } from './url.js';
export { FIREWALL_RULES, type FirewallRuleId } from './rule-ids.js';
export { DEFAULT_MAX_THREADS, MAX_ARG_LENGTH, MAX_ARGS, MAX_METADATA_VALUE_LENGTH } from './limits.js';
export type { AcceptedOption, ArgRef, FirewallAccepted, FirewallContext, FirewallResult, FirewallRules, OutputBounds } from './types.js';
export { readLiteral, readRate, readSize } from './output-bounds.js';
export {
  ALIASES,
  NEGATION_PREFIX,
  OPTIONS,
  resolveOption,
  splitOptionToken,
  type AliasSpec,
  type OptionKind,
  type OptionSpec,
  type ResolvedOption,
} from './options.js';
export {
  DENIED_ENCODER_PATTERN,
  DENIED_FILTERS,
  DENIED_MUXERS,
  DENIED_OPTION_PATTERNS,
  DENIED_OPTIONS,
  deniedFilter,
  deniedMuxer,
  deniedOption,
  type DeniedFilter,
  type DeniedOption,
  type DenialRule,
} from './denials.js';
export {
  filtersOf,
  MAX_FILTERGRAPH_LENGTH,
  MAX_FILTERS,
  parseFilterArgs,
  parseFilterGraph,
  type FilterArg,
  type FilterChain,
  type FilterGraph,
  type FilterGraphParseError,
  type FilterGraphParseResult,
  type ParsedFilter,
} from './filtergraph.js';
