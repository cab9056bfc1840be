/**
 * Ed25519 public keys as JWKs, for the JWKS a policy names for a token issuer. The `kid` follows
 * the project's key-id rule by default, so the id `token mint` writes into a token header and the
 * id of the key in the policy's JWKS are the same string.
 */
import type { KeyObject } from 'node:crypto';
import { keyIdOf, rawEd25519PublicKey } from './key-id.js';
import { ed25519PublicKey, type PemInput } from './pem.js';

/** The public JWK of an Ed25519 key: no private member can appear in it. */
export interface Ed25519PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** Pure: the public JWK of an Ed25519 key (either half); `kid` defaults to keyIdOf(key). */
export function publicJwkOf(key: KeyObject, kid?: string): Ed25519PublicJwk {
  const x = rawEd25519PublicKey(key).toString('base64url');
  return { kty: 'OKP', crv: 'Ed25519', x, kid: kid ?? keyIdOf(key), alg: 'EdDSA', use: 'sig' };
}

/** The public JWK of an Ed25519 key (PEM, public or private), for a JWKS a policy can name. */
export function publicJwkFromPem(pem: PemInput, kid?: string): Ed25519PublicJwk {
  const key = ed25519PublicKey(pem, { label: 'the key for the JWK', reason: 'usage', hint: 'pass the .pub or .key file written by `zt-ffmpeg keygen`' }, { privateAllowed: true });
  return publicJwkOf(key, kid);
}

/** A JWKS document ({"keys": [...]}) for the given keys. */
export function jwksFromPems(pems: readonly PemInput[]): { keys: Ed25519PublicJwk[] } {
  return { keys: pems.map((p) => publicJwkFromPem(p)) };
}
