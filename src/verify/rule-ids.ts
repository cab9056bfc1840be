/** The rule ids the verification of an output puts into Violation.rule (src/verify/). */
export const OUTPUT_RULES = ['output.sandbox-file', 'output.probe', 'output.format', 'output.streams', 'output.streamType', 'output.duration'] as const;

export type OutputRuleId = (typeof OUTPUT_RULES)[number] | `output.codecs.${'video' | 'audio'}`;
