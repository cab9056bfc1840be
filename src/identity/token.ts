/**
 * Offline verification of a signed token (JWT) against the issuers a policy trusts.
 *
 * The steps run in a fixed order and each fails closed with a ZtError('unauthenticated') whose
 * `details.reason` says which check refused the token:
 *   1. shape and size                                  malformed
 *   2. header: alg present and not "none"              malformed, alg-none
 *   3. issuer chosen by the *unverified* iss claim     issuer
 *   4. alg in that issuer's allow-list                 algorithm
 *   5. kid known to that issuer's key set              unknown-kid
 *   6. signature, iss, exp, nbf, iat age, claims (jose)  signature, expired, not-yet-valid, too-old, claim-missing
 *   7. audience and binding to the input               audience, binding
 *   8. single-use jti                                  replay, replay-store
 * The unverified iss only selects which keys to try; nothing else is believed before step 6.
 */
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { ZtError } from '../errors.js';
import { checkAudienceAndBinding, isSha256Hex, type BindingTarget } from './binding.js';
import { kidsOf, loadIssuerKeySet } from './key-set.js';
import { useJti } from './replay.js';
import type { ClaimValue, IdentityConfig, IssuerConfig, TokenRefusal, VerifiedToken } from './types.js';

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Claims every accepted token carries, whatever the policy lists. */
export const ALWAYS_REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp'] as const;
const MAX_TOKEN_CHARS = 16 * 1024;
const COMPACT_JWS_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_KEPT_CLAIMS = 64;
const MAX_CLAIM_CHARS = 1024;

export interface VerifyContext {
  readonly now: Date;
  /** Directory of the policy file: jwksFile paths are relative to it. */
  readonly policyDir: string;
  /** The operation the job will run (checked against the binding). */
  readonly operation: string;
  /** Lowercase hex sha256 of the input; required when the policy binds tokens to the input. */
  readonly inputSha256?: string;
  /** State directory holding the replay store (`<stateDir>/jti/`). */
  readonly stateDir: string;
  /** Record the jti as used (default true). false only checks, e.g. for `check` dry runs. */
  readonly consumeJti?: boolean;
}

export function tokenError(
  reason: TokenRefusal,
  message: string,
  hint: string,
  extra: Readonly<Record<string, unknown>> = {},
  cause?: unknown,
): ZtError {
  return new ZtError('unauthenticated', message, {
    hint,
    details: { reason, ...extra },
    ...(cause === undefined ? {} : { cause }),
  });
}

const MINT_HINT = 'present a fresh token from a trusted issuer (zt-ffmpeg token mint for a local issuer)';

function parseHeader(token: string): ProtectedHeaderParameters {
  if (token.length > MAX_TOKEN_CHARS) {
    throw tokenError('malformed', `token is ${token.length} characters long, more than ${MAX_TOKEN_CHARS}`, 'pass a compact JWT (header.payload.signature)');
  }
  if (!COMPACT_JWS_RE.test(token)) {
    throw tokenError('malformed', 'token is not a compact JWT: expected three base64url parts separated by dots', 'pass the JWT itself, without "Bearer " or quotes');
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (e: unknown) {
    throw tokenError('malformed', `token header cannot be decoded: ${(e as Error).message}`, 'pass a compact JWT (header.payload.signature)', {}, e);
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') {
    throw tokenError('malformed', 'token header has no "alg"', 'pass a signed JWT');
  }
  if (alg.toLowerCase() === 'none') {
    throw tokenError('alg-none', 'token is unsigned ("alg": "none"); unsigned tokens are never accepted', 'present a token signed by a trusted issuer', { alg });
  }
  return header;
}

function unverifiedPayload(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch (e: unknown) {
    throw tokenError('malformed', `token payload cannot be decoded: ${(e as Error).message}`, 'pass a compact JWT whose payload is a JSON object', {}, e);
  }
}

function selectIssuer(cfg: IdentityConfig, iss: unknown): IssuerConfig {
  const trusted = cfg.issuers.map((i) => i.issuer);
  if (typeof iss !== 'string') {
    throw tokenError('claim-missing', 'token has no "iss" (issuer) claim', MINT_HINT, { claim: 'iss' });
  }
  const issuer = cfg.issuers.find((i) => i.issuer === iss);
  if (issuer === undefined) {
    throw tokenError(
      'issuer',
      `token issuer "${iss}" is not trusted by the policy: expected one of ${trusted.length > 0 ? trusted.map((t) => `"${t}"`).join(', ') : '(no issuers configured)'}`,
      'add the issuer to identity.issuers in the policy, or use a token from a trusted issuer',
      { found: iss, expected: trusted },
    );
  }
  return issuer;
}

/** Translate a jose failure into the refusal that names the check. */
function refusalFromJose(e: unknown, issuer: IssuerConfig, header: ProtectedHeaderParameters): ZtError {
  const at = { issuer: issuer.id };
  if (e instanceof joseErrors.JWTExpired) {
    if (e.claim === 'iat') {
      return tokenError('too-old', `token was issued more than ${issuer.maxTokenAgeSeconds ?? '?'}s ago (issuer ${issuer.id}: maxTokenAgeSeconds)`, MINT_HINT, {
        ...at,
        claim: 'iat',
        found: e.payload['iat'],
        limit: issuer.maxTokenAgeSeconds,
      });
    }
    return tokenError('expired', `token expired at ${isoOf(e.payload['exp'])}`, MINT_HINT, { ...at, claim: 'exp', found: e.payload['exp'] });
  }
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') {
      return tokenError('claim-missing', `token lacks the required claim "${e.claim}" (issuer ${issuer.id})`, `the issuer must include "${e.claim}"; see identity.issuers[${issuer.id}].requiredClaims`, {
        ...at,
        claim: e.claim,
      });
    }
    if (e.claim === 'nbf') {
      return tokenError('not-yet-valid', `token is not valid before ${isoOf(e.payload['nbf'])}`, 'wait until the token becomes valid, or check the clocks of issuer and this machine', {
        ...at,
        claim: 'nbf',
        found: e.payload['nbf'],
      });
    }
    if (e.claim === 'iat') {
      return tokenError('not-yet-valid', `token claims to be issued in the future (iat ${isoOf(e.payload['iat'])})`, 'check the clocks of issuer and this machine', {
        ...at,
        claim: 'iat',
        found: e.payload['iat'],
      });
    }
    if (e.claim === 'iss') {
      return tokenError('issuer', `token issuer ${JSON.stringify(e.payload['iss'])} is not "${issuer.issuer}"`, MINT_HINT, { ...at, claim: 'iss' });
    }
    return tokenError('malformed', `token claim "${e.claim}" is invalid: ${e.message}`, MINT_HINT, { ...at, claim: e.claim });
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) {
    return tokenError('signature', `token signature does not verify with issuer ${issuer.id}'s key${header.kid === undefined ? '' : ` "${header.kid}"`}: the token was altered or signed by another key`, MINT_HINT, {
      ...at,
      kid: header.kid,
    });
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
    return tokenError('algorithm', `token algorithm "${String(header.alg)}" is not accepted for issuer ${issuer.id}: ${e.message}`, MINT_HINT, {
      ...at,
      found: header.alg,
      expected: issuer.algorithms,
    });
  }
  if (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys) {
    const ambiguous = e instanceof joseErrors.JWKSMultipleMatchingKeys;
    return tokenError(
      'unknown-kid',
      ambiguous
        ? `token names no key id and issuer ${issuer.id} has several keys for "${String(header.alg)}"; refusing to guess`
        : `no key of issuer ${issuer.id} fits the token (kid ${JSON.stringify(header.kid)}, alg "${String(header.alg)}")`,
      'the token must name (kid) a key of the issuer\'s key set that supports its algorithm',
      { ...at, kid: header.kid },
    );
  }
  if (e instanceof joseErrors.JWKSInvalid || e instanceof joseErrors.JWKInvalid) {
    return new ZtError('policy-invalid', `identity.issuers[${issuer.id}]: key set is invalid: ${e.message}`, {
      hint: 'the key set must hold public signature keys (JWKs)',
      details: { issuer: issuer.id },
      cause: e,
    });
  }
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) {
    return tokenError('malformed', `token is malformed: ${e.message}`, 'pass a compact signed JWT', at, e);
  }
  // Anything else (for example an RSA key below 2048 bits) still refuses: fail closed, say why.
  return tokenError('signature', `token cannot be verified with issuer ${issuer.id}'s keys: ${e instanceof Error ? e.message : String(e)}`, 'check the issuer\'s key set in the policy', at, e);
}

function isoOf(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : JSON.stringify(seconds);
}

/** Scalar and string-array claims, bounded: what authorization matches and the audit records. */
export function selectClaims(payload: JWTPayload): Record<string, ClaimValue> {
  // Claim names are chosen by the token's issuer (or forger): kept in an object without a
  // prototype, so a claim named "__proto__" is a claim like any other, never the object's prototype.
  const out = Object.create(null) as Record<string, ClaimValue>;
  let kept = 0;
  for (const [name, value] of Object.entries(payload)) {
    if (kept >= MAX_KEPT_CLAIMS) break;
    if (name.length > 128) continue;
    if (typeof value === 'string') {
      if (value.length > MAX_CLAIM_CHARS) continue;
      out[name] = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      out[name] = value;
    } else if (typeof value === 'boolean') {
      out[name] = value;
    } else if (Array.isArray(value) && value.length <= 64 && value.every((v): v is string => typeof v === 'string' && v.length <= MAX_CLAIM_CHARS)) {
      out[name] = [...value];
    } else {
      continue;
    }
    kept++;
  }
  return out;
}

/** Verify `token` against the policy's identity section. Resolves only when every check passed. */
export async function verifyToken(token: string, cfg: IdentityConfig, ctx: VerifyContext): Promise<VerifiedToken> {
  const trimmed = token.trim();
  const header = parseHeader(trimmed);
  const claimsUnverified = unverifiedPayload(trimmed);
  const issuer = selectIssuer(cfg, claimsUnverified.iss);
  const alg = header.alg as string;
  if (!(issuer.algorithms as readonly string[]).includes(alg)) {
    throw tokenError(
      'algorithm',
      `token algorithm "${alg}" is not accepted for issuer ${issuer.id}: expected one of ${issuer.algorithms.join(', ')}`,
      `the issuer signs with ${issuer.algorithms.join(' or ')}; a token with another algorithm is forged or misconfigured`,
      { issuer: issuer.id, found: alg, expected: issuer.algorithms },
    );
  }
  const keySet = await loadIssuerKeySet(issuer, ctx.policyDir);
  const kids = kidsOf(keySet);
  if (header.kid !== undefined && (typeof header.kid !== 'string' || !kids.includes(header.kid))) {
    throw tokenError(
      'unknown-kid',
      `token key id ${JSON.stringify(header.kid)} is not in issuer ${issuer.id}'s key set (known: ${kids.length > 0 ? kids.join(', ') : 'none named'})`,
      'refresh the issuer\'s JWKS in the policy if the issuer rotated its keys; otherwise the token is forged',
      { issuer: issuer.id, kid: header.kid, known: kids },
    );
  }

  const required = [...new Set([...ALWAYS_REQUIRED_CLAIMS, ...(issuer.requiredClaims ?? [])])];
  if (cfg.singleUseJti) required.push('jti');
  let payload: JWTPayload;
  try {
    const verified = await jwtVerify(trimmed, createLocalJWKSet(keySet), {
      algorithms: [...issuer.algorithms],
      issuer: issuer.issuer,
      currentDate: ctx.now,
      clockTolerance: issuer.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: required,
      ...(issuer.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: issuer.maxTokenAgeSeconds }),
    });
    payload = verified.payload;
  } catch (e: unknown) {
    throw refusalFromJose(e, issuer, header);
  }

  if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
    throw tokenError('malformed', 'token "sub" must be a string and "exp" a number', MINT_HINT, { issuer: issuer.id });
  }

  let target: BindingTarget | undefined;
  if (ctx.inputSha256 !== undefined) {
    const sha = ctx.inputSha256.toLowerCase();
    if (!isSha256Hex(sha)) throw new Error(`internal error: inputSha256 is not a sha256 hex digest: ${ctx.inputSha256}`);
    target = { operation: ctx.operation, inputSha256: sha };
  }
  const aud = checkAudienceAndBinding(payload, issuer.audience, cfg.bindToInput, target);
  if (!aud.ok) {
    throw tokenError(
      aud.reason,
      aud.message,
      aud.reason === 'binding'
        ? `mint a token for this operation and input: zt-ffmpeg token mint --operation ${ctx.operation} --input FILE ...`
        : `request the token with an accepted audience (${issuer.audience.join(', ')})`,
      { issuer: issuer.id, found: aud.found, ...(target === undefined ? {} : { expected: target }) },
    );
  }

  if (cfg.singleUseJti) {
    if (typeof payload.jti !== 'string' || payload.jti === '') {
      throw tokenError('claim-missing', 'the policy makes tokens single-use, but the token has no "jti"', 'mint tokens with a unique jti', { issuer: issuer.id, claim: 'jti' });
    }
    const seen = await useJti(ctx.stateDir, { iss: issuer.issuer, jti: payload.jti, exp: payload.exp }, ctx.consumeJti ?? true);
    if (seen === 'replayed') {
      throw tokenError('replay', `token id (jti) "${payload.jti}" was already used; the policy makes tokens single-use`, 'mint a new token for each job', {
        issuer: issuer.id,
        jti: payload.jti,
      });
    }
  }

  return {
    issuerId: issuer.id,
    iss: issuer.issuer,
    sub: payload.sub,
    alg,
    ...(typeof header.kid === 'string' ? { kid: header.kid } : {}),
    ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
    ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}),
    exp: payload.exp,
    claims: selectClaims(payload),
    ...(cfg.bindToInput !== false && target !== undefined ? { boundTo: target } : {}),
  };
}
