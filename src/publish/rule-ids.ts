/** The rule ids of the destination checks (src/publish/): where the output may be written. */
export const DESTINATION_RULES = ['output.dir', 'output.path', 'output.protected', 'output.exists', 'output.regular-file'] as const;

export type DestinationRuleId = (typeof DESTINATION_RULES)[number];
