/**
 * Authorization: which principal may run which operation. Pure.
 *
 * Rules are tried in order; the first rule whose `match` holds decides: it allows the request
 * if its `allow` covers the operation (and raw arguments, when asked for), and refuses it
 * otherwise, naming the rule. When no rule matches, `authorization.default` decides. Every
 * condition of a match must hold; within a list any pattern may match; a missing claim never
 * matches; the CI context (unverified environment variables) is never consulted.
 */
import { ZtError, type Violation } from '../errors.js';
import { anyMatch } from './glob.js';
import type { AuthorizationConfig, AuthorizationRule, ClaimCondition, ClaimValue, Principal } from './types.js';

export interface AuthzRequest {
  readonly operation: string;
  readonly rawArgs: boolean;
}

export type AuthzDecision =
  | { readonly allowed: true; readonly ruleId: string }
  | { readonly allowed: false; readonly ruleId?: string; readonly reason: string; readonly violations: readonly Violation[] };

/** Rule id recorded when the default decides. */
export const DEFAULT_RULE_ID = 'authorization.default';

/** Why a rule's match does not hold for the principal (undefined when it holds). */
export type Mismatch = Violation;

function list(c: ClaimCondition): readonly string[] {
  return typeof c === 'string' ? [c] : c;
}

function claimStrings(v: ClaimValue): readonly string[] {
  if (Array.isArray(v)) return v;
  return [String(v)];
}

function show(patterns: readonly string[]): string {
  return patterns.length === 1 ? `"${patterns[0]}"` : `one of ${patterns.map((p) => `"${p}"`).join(', ')}`;
}

/** The first condition of `rule.match` that fails for `principal`, or undefined if all hold. */
export function ruleMismatch(rule: AuthorizationRule, principal: Principal): Mismatch | undefined {
  const base = `authorization.rules[${rule.id}].match` as const;
  const m = rule.match;
  if (m.users !== undefined && !anyMatch(m.users, principal.os.user)) {
    return { rule: `${base}.users`, actual: principal.os.user, limit: m.users, message: `rule ${rule.id}: user "${principal.os.user}" is not ${show(m.users)}` };
  }
  if (m.groups !== undefined && !principal.os.groups.some((g) => anyMatch(m.groups ?? [], g))) {
    return {
      rule: `${base}.groups`,
      actual: principal.os.groups,
      limit: m.groups,
      message: `rule ${rule.id}: none of the groups [${principal.os.groups.join(', ')}] is ${show(m.groups)}`,
    };
  }
  const token = principal.token;
  if (m.issuers !== undefined) {
    if (token === undefined) {
      return { rule: `${base}.issuers`, actual: null, limit: m.issuers, message: `rule ${rule.id}: needs a verified token from ${show(m.issuers)}, but none was presented` };
    }
    if (!anyMatch(m.issuers, token.issuerId)) {
      return { rule: `${base}.issuers`, actual: token.issuerId, limit: m.issuers, message: `rule ${rule.id}: token issuer "${token.issuerId}" is not ${show(m.issuers)}` };
    }
  }
  if (m.claims !== undefined) {
    for (const [name, cond] of Object.entries(m.claims)) {
      const patterns = list(cond);
      const rid = `${base}.claims.${name}` as const;
      if (token === undefined) {
        return { rule: rid, actual: null, limit: patterns, message: `rule ${rule.id}: claim "${name}" must be ${show(patterns)}, but no token was presented` };
      }
      const value = Object.hasOwn(token.claims, name) ? token.claims[name] : undefined;
      if (value === undefined) {
        return { rule: rid, actual: null, limit: patterns, message: `rule ${rule.id}: token has no claim "${name}" (a missing claim never matches)` };
      }
      if (!claimStrings(value).some((v) => anyMatch(patterns, v))) {
        return { rule: rid, actual: value, limit: patterns, message: `rule ${rule.id}: claim "${name}" is ${JSON.stringify(value)}, expected ${show(patterns)}` };
      }
    }
  }
  return undefined;
}

/** Decide whether `principal` may perform `request`. */
export function authorize(principal: Principal, auth: AuthorizationConfig, request: AuthzRequest): AuthzDecision {
  const mismatches: Violation[] = [];
  for (const rule of auth.rules) {
    const miss = ruleMismatch(rule, principal);
    if (miss !== undefined) {
      mismatches.push(miss);
      continue;
    }
    const allowPath = `authorization.rules[${rule.id}].allow` as const;
    if (!anyMatch(rule.allow.operations, request.operation)) {
      const v: Violation = {
        rule: `${allowPath}.operations`,
        actual: request.operation,
        limit: rule.allow.operations,
        message: `rule ${rule.id} matches the caller but does not allow operation "${request.operation}" (allowed: ${rule.allow.operations.join(', ')})`,
        hint: `run one of the allowed operations, or extend ${allowPath}.operations`,
      };
      return { allowed: false, ruleId: rule.id, reason: v.message, violations: [v] };
    }
    if (request.rawArgs && rule.allow.rawArgs !== true) {
      const v: Violation = {
        rule: `${allowPath}.rawArgs`,
        actual: true,
        limit: false,
        message: `rule ${rule.id} matches the caller but does not allow raw ffmpeg arguments`,
        hint: `use a named operation without passthrough arguments, or set ${allowPath}.rawArgs: true`,
      };
      return { allowed: false, ruleId: rule.id, reason: v.message, violations: [v] };
    }
    return { allowed: true, ruleId: rule.id };
  }
  if (auth.default === 'allow') return { allowed: true, ruleId: DEFAULT_RULE_ID };
  const v: Violation = {
    rule: DEFAULT_RULE_ID,
    actual: describePrincipal(principal),
    limit: 'deny',
    message:
      auth.rules.length === 0
        ? 'no authorization rule exists and authorization.default is "deny"'
        : `no authorization rule matches the caller (${describePrincipal(principal)}) and authorization.default is "deny"`,
    hint: 'add a rule to authorization.rules that matches this caller, or present a token that satisfies one',
  };
  return { allowed: false, reason: v.message, violations: [v, ...mismatches] };
}

/** A one-line description of who is asking, for messages. Never includes the token. */
export function describePrincipal(p: Principal): string {
  const parts = [`user ${p.os.user}`];
  if (p.token !== undefined) parts.push(`token from ${p.token.issuerId} for ${p.token.sub}`);
  return parts.join(', ');
}

/** authorize(), throwing ZtError('unauthorized') (exit 4) on refusal; returns the deciding rule id. */
export function requireAuthorization(principal: Principal, auth: AuthorizationConfig, request: AuthzRequest): string {
  const d = authorize(principal, auth, request);
  if (d.allowed) return d.ruleId;
  throw new ZtError('unauthorized', d.reason, {
    hint: d.violations[0]?.hint ?? 'check authorization.rules in the policy',
    violations: d.violations,
    details: { ruleId: d.ruleId ?? DEFAULT_RULE_ID, operation: request.operation, rawArgs: request.rawArgs },
  });
}
