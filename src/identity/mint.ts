/**
 * A local token issuer for scripts and tests (`zt-ffmpeg token mint`): EdDSA (Ed25519) tokens
 * from a local private key, optionally bound to one operation on one input.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { ZtError } from '../errors.js';
import { BINDING_CLAIM_OPERATION, BINDING_CLAIM_SHA256, bindingAudience, isSha256Hex } from './binding.js';
import { ed25519PrivateKey, keyIdOf, type KeyRole, type PemInput } from '../keys/index.js';

/** Longest lifetime a minted token may have: one week. Short is the point. */
export const MAX_MINT_TTL_SECONDS = 7 * 24 * 3600;

export interface MintOptions {
  readonly privateKeyPem: PemInput | KeyObject;
  /** Key id written to the header; default keyIdOf(the public key). */
  readonly kid?: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string | readonly string[];
  readonly ttlSeconds: number;
  /** Extra claims (registered claims are set from the other options and cannot be overridden here). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** With inputSha256: bind the token (both the audience form and the claim form). */
  readonly operation?: string;
  readonly inputSha256?: string;
  /** Token id; default a random UUID. */
  readonly jti?: string;
  /** Issue time; default now. */
  readonly now?: Date;
}

const REGISTERED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

function usage(message: string, hint: string): ZtError {
  return new ZtError('usage', message, { hint });
}

/** Tokens are signed with an Ed25519 key from `zt-ffmpeg keygen`; a wrong one is a usage error. */
const SIGNING_KEY: KeyRole = { label: 'the token signing key', reason: 'usage', hint: 'generate one with `zt-ffmpeg keygen --out DIR`' };

export async function mintToken(opts: MintOptions): Promise<string> {
  const key = ed25519PrivateKey(opts.privateKeyPem, SIGNING_KEY);
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1 || opts.ttlSeconds > MAX_MINT_TTL_SECONDS) {
    throw usage(`token lifetime must be a whole number of seconds from 1 to ${MAX_MINT_TTL_SECONDS}, found ${opts.ttlSeconds}`, 'use --ttl 600 for ten minutes');
  }
  if (opts.issuer === '' || opts.subject === '') throw usage('token issuer and subject must not be empty', 'pass --issuer and --subject');
  const audience = typeof opts.audience === 'string' ? [opts.audience] : [...opts.audience];
  if (audience.length === 0 || audience.some((a) => a === '')) throw usage('token audience must name at least one non-empty value', 'pass --audience zt-ffmpeg');
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(opts.claims ?? {})) {
    if (REGISTERED.has(name)) throw usage(`claim "${name}" is set by its own option, not as an extra claim`, 'use --issuer, --subject, --audience, --ttl or --jti');
    claims[name] = value;
  }
  if ((opts.operation === undefined) !== (opts.inputSha256 === undefined)) {
    throw usage('binding a token needs both the operation and the input digest', 'pass both --operation and --input (or --input-sha256)');
  }
  if (opts.operation !== undefined && opts.inputSha256 !== undefined) {
    const sha = opts.inputSha256.toLowerCase();
    if (!isSha256Hex(sha)) throw usage(`input digest must be 64 hex characters (sha256), found "${opts.inputSha256}"`, 'pass --input FILE to have it hashed');
    if (opts.operation === '' || opts.operation.includes(':')) throw usage(`operation name "${opts.operation}" is not valid for binding`, 'use the operation name from the policy');
    audience.push(bindingAudience(opts.operation, sha));
    claims[BINDING_CLAIM_OPERATION] = opts.operation;
    claims[BINDING_CLAIM_SHA256] = sha;
  }
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: opts.kid ?? keyIdOf(key) })
    .setIssuer(opts.issuer)
    .setSubject(opts.subject)
    .setAudience(audience.length === 1 ? (audience[0] as string) : audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + opts.ttlSeconds)
    .setJti(opts.jti ?? randomUUID())
    .sign(key);
}
