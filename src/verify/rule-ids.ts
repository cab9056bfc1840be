/**
 * The rule ids about the output (src/verify/): what the verification of an output puts into
 * Violation.rule, and the output bounds of src/plan/budget.ts. The bounds are one set of rules
 * enforced in three places: before the run by the argument firewall (-r, -s, scale/pad/fps
 * values it can read), during it by the monitor from ffmpeg's -progress report, and here, at
 * verification, for every job.
 */
export const OUTPUT_RULES = ['output.sandbox-file', 'output.probe', 'output.structure', 'output.format', 'output.streams', 'output.streamType', 'output.duration'] as const;

/** The output bounds: the policy's `output` section, and the duration budget from the input. */
export const OUTPUT_BOUND_RULES = [
  'output.maxDuration',
  'output.maxFrameRate',
  'output.maxWidth',
  'output.maxHeight',
  'output.maxPixels',
  'output.maxBytes',
  'output.keepMetadata',
] as const;

export type OutputBoundRuleId = (typeof OUTPUT_BOUND_RULES)[number];

export type OutputRuleId = (typeof OUTPUT_RULES)[number] | OutputBoundRuleId | `output.codecs.${'video' | 'audio'}`;
