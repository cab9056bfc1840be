/**
 * The rule ids of identity and authorization (src/identity/). Authorization refusals name the
 * policy's own rule (`authorization.rules[<id>].match.users`) or the default.
 */
export const IDENTITY_RULES = [
  'identity.token', 'identity.issuers', 'identity.issuers.id', 'identity.issuers.issuer', 'identity.bindToInput', 'identity.singleUseJti',
  'authorization.default', 'authorization.rules.id',
] as const;

export type IdentityRuleId = (typeof IDENTITY_RULES)[number] | `identity.issuers[${string}]` | `authorization.rules[${string}]${string}`;
