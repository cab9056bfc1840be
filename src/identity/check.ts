/**
 * Checks of the identity and authorization sections that a JSON Schema cannot express
 * (uniqueness, cross-references, combinations that can never work). Pure; the policy loader
 * reports them next to the schema's diagnostics.
 */
import type { Violation } from '../errors.js';
import { isGlob } from './glob.js';
import type { AuthorizationConfig, IdentityConfig } from './types.js';

function dupes(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const out = new Set<string>();
  for (const v of values) (seen.has(v) ? out : seen).add(v);
  return [...out];
}

export function identityConfigProblems(identity: IdentityConfig, authorization: AuthorizationConfig): Violation[] {
  const out: Violation[] = [];
  const ids = identity.issuers.map((i) => i.id);
  for (const d of dupes(ids)) {
    out.push({ rule: 'identity.issuers.id', actual: d, limit: 'unique', message: `issuer id "${d}" is used more than once`, hint: 'give each issuer its own id' });
  }
  for (const d of dupes(identity.issuers.map((i) => i.issuer))) {
    out.push({
      rule: 'identity.issuers.issuer',
      actual: d,
      limit: 'unique',
      message: `issuer "${d}" is listed more than once; a token selects its issuer by "iss", so only one entry can apply`,
      hint: 'merge the entries (audiences and keys) into one',
    });
  }
  for (const i of identity.issuers) {
    if ((i.jwksFile === undefined) === (i.keys === undefined)) {
      out.push({ rule: `identity.issuers[${i.id}]`, actual: null, limit: 'jwksFile xor keys', message: `issuer ${i.id} must give exactly one of jwksFile and keys`, hint: 'name a JWKS file or list inline keys' });
    }
  }
  if (identity.token === 'off' && identity.bindToInput !== false) {
    out.push({ rule: 'identity.bindToInput', actual: identity.bindToInput, limit: false, message: 'identity.bindToInput has no effect with identity.token: off', hint: 'set identity.token to required, or bindToInput to false' });
  }
  if (identity.token === 'off' && identity.singleUseJti) {
    out.push({ rule: 'identity.singleUseJti', actual: true, limit: false, message: 'identity.singleUseJti has no effect with identity.token: off', hint: 'set identity.token to required, or singleUseJti to false' });
  }
  if (identity.token !== 'off' && identity.issuers.length === 0) {
    out.push({ rule: 'identity.issuers', actual: [], limit: 'at least one', message: `identity.token is ${identity.token} but no issuer is trusted, so no token can ever verify`, hint: 'add an issuer, or set identity.token: off' });
  }
  for (const d of dupes(authorization.rules.map((r) => r.id))) {
    out.push({ rule: 'authorization.rules.id', actual: d, limit: 'unique', message: `rule id "${d}" is used more than once`, hint: 'rule ids are recorded in the audit log: make them unique' });
  }
  for (const r of authorization.rules) {
    for (const pat of r.match.issuers ?? []) {
      if (!isGlob(pat) && !ids.includes(pat)) {
        out.push({ rule: `authorization.rules[${r.id}].match.issuers`, actual: pat, limit: ids, message: `rule ${r.id} names issuer "${pat}", which identity.issuers does not define`, hint: `use one of: ${ids.join(', ') || '(none defined)'}` });
      }
    }
    if (identity.token === 'off' && (r.match.issuers !== undefined || r.match.claims !== undefined)) {
      out.push({ rule: `authorization.rules[${r.id}].match`, actual: 'token: off', limit: 'a token', message: `rule ${r.id} matches token issuers or claims, but identity.token is off, so it can never match`, hint: 'set identity.token to required or optional' });
    }
  }
  return out;
}
