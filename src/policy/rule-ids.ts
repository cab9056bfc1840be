/**
 * The rule ids of policy files (src/policy/): a schema diagnostic, or (from `policy diff
 * --fail-if-looser`) the policy field that a policy loosens, named by its path.
 */
import type { Policy } from './types.js';

export type PolicyFieldPath = `${keyof Policy & string}.${string}` | (keyof Policy & string);

export type PolicyRuleId = 'policy.schema' | PolicyFieldPath;
