/**
 * The rule ids the argument firewall puts into Violation.rule, defined once.
 *
 * The strings are part of the product: they appear in --json output, in the
 * audit log and in the documentation, and scripts branch on them. Change a
 * value only as a breaking change; the keys are free to change.
 */
export const FIREWALL_RULES = {
  /** Too many arguments, or one too long. */
  limit: 'firewall.limit',
  /** A non-option argument or `--`: ffmpeg would write a second output. */
  secondOutput: 'firewall.second-output',
  /** Unknown, implausible, negated or not allowed by the policy. */
  option: 'firewall.option',
  streamSpecifier: 'firewall.stream-specifier',
  missingValue: 'firewall.missing-value',
  /** A value outside the grammar of its option kind. */
  value: 'firewall.value',
  url: 'firewall.url',
  encoder: 'firewall.encoder',
  muxer: 'firewall.muxer',
  metadata: 'firewall.metadata',
  /** A path outside the job directory. */
  path: 'firewall.path',
  /** -i, or a stream or label that refers to an input other than 0. */
  extraInput: 'firewall.extra-input',
  filter: 'firewall.filter',
  /** A filter, or a filter option, that reads or writes a file. */
  filterFile: 'firewall.filter-file',
  unparseableFiltergraph: 'firewall.unparseable-filtergraph',
  /** An expression that never ends (while) or floods the diagnostics (print). */
  expression: 'firewall.expression',
  // Reasons an option is refused whatever the policy says (see denials.ts).
  fileOption: 'firewall.file-option',
  networkOption: 'firewall.network-option',
  wrapperOwned: 'firewall.wrapper-owned',
  device: 'firewall.device',
  deniedOption: 'firewall.denied-option',
} as const;

export type FirewallRuleId = (typeof FIREWALL_RULES)[keyof typeof FIREWALL_RULES];
