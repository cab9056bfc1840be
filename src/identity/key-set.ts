/**
 * The public keys a policy names for a token issuer: inline JWKs or a JWKS file next to the
 * policy. Read offline, never fetched. A key set that is unreadable, malformed, or carries
 * private or symmetric key material is a broken policy (exit 9), not a bad token.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import { ZtError } from '../errors.js';
import { readTrustRoot } from '../keys/index.js';
import type { IssuerConfig } from './types.js';

const MAX_JWKS_BYTES = 1024 * 1024;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const KEY_TYPES = ['RSA', 'EC', 'OKP'];

function keySetError(issuer: IssuerConfig, where: string, message: string, hint: string): ZtError {
  return new ZtError('policy-invalid', `identity.issuers[${issuer.id}]: ${where}: ${message}`, {
    hint,
    details: { issuer: issuer.id, keySet: where },
  });
}

/** Check every key is a public signature key; returns the problems found (empty when fine). */
export function publicKeyProblems(keys: readonly unknown[]): string[] {
  const problems: string[] = [];
  keys.forEach((k, i) => {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) {
      problems.push(`keys[${i}] is not an object`);
      return;
    }
    const jwk = k as Record<string, unknown>;
    if (!KEY_TYPES.includes(String(jwk['kty']))) {
      problems.push(`keys[${i}].kty must be one of ${KEY_TYPES.join(', ')}, found ${JSON.stringify(jwk['kty'])}`);
    }
    const priv = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (priv.length > 0) problems.push(`keys[${i}] carries private or secret key material (${priv.join(', ')})`);
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') problems.push(`keys[${i}].use is ${JSON.stringify(jwk['use'])}, expected "sig"`);
  });
  return problems;
}

/** The issuer's key set, ready for jose's createLocalJWKSet. */
export async function loadIssuerKeySet(issuer: IssuerConfig, policyDir: string): Promise<JSONWebKeySet> {
  if (issuer.keys !== undefined && issuer.jwksFile === undefined) {
    const problems = publicKeyProblems(issuer.keys);
    if (problems.length > 0) {
      throw keySetError(issuer, 'keys', problems.join('; '), 'inline keys must be public JWKs (kty RSA, EC or OKP, no "d")');
    }
    return { keys: issuer.keys.map((k) => ({ ...k }) as JWK) };
  }
  if (issuer.jwksFile === undefined || issuer.keys !== undefined) {
    throw keySetError(issuer, 'keys', 'expected exactly one of jwksFile and keys', 'give the issuer a jwksFile or inline keys, not both');
  }
  const file = path.resolve(policyDir, issuer.jwksFile);
  let bytes: Buffer;
  try {
    // A trust root: whoever can write it mints tokens the policy accepts.
    bytes = await readTrustRoot(file, { what: `identity.issuers[${issuer.id}].jwksFile`, reason: 'policy-invalid' }, MAX_JWKS_BYTES);
  } catch (e: unknown) {
    if (e instanceof ZtError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw keySetError(issuer, file, `cannot be read (${code})`, 'jwksFile is relative to the policy file\'s directory');
  }
  if (issuer.jwksSha256 !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== issuer.jwksSha256) {
      throw keySetError(issuer, file, `has sha256 ${actual}, but the policy pins ${issuer.jwksSha256}: the key set was changed after the policy was written`, 'if the new keys are intended, re-pin (zt-ffmpeg policy pin) and re-sign the policy');
    }
  }
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e: unknown) {
    throw keySetError(issuer, file, `is not JSON (${(e as Error).message})`, 'expected {"keys": [ ...public JWKs... ]}');
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw keySetError(issuer, file, 'has no "keys" array', 'expected {"keys": [ ...public JWKs... ]}');
  }
  const problems = publicKeyProblems(keys);
  if (problems.length > 0) {
    throw keySetError(issuer, file, problems.join('; '), 'a JWKS for verification holds public keys only');
  }
  return { keys: keys as JWK[] };
}

/** The kids present in a key set (for "unknown key id" messages). */
export function kidsOf(set: JSONWebKeySet): string[] {
  return set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string');
}
