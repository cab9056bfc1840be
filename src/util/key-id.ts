/**
 * Key ids of Ed25519 keys: "ed25519:" + the first 32 hex characters of the sha256 of the raw
 * 32-byte public key. Shared by the audit signer, policy signatures and token issuers.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ZtError } from '../errors.js';

/** The raw 32-byte public key of an Ed25519 key (public or private KeyObject). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') {
    throw new ZtError('usage', `expected an Ed25519 key, found ${pub.asymmetricKeyType ?? pub.type}`, {
      hint: 'generate one with `zt-ffmpeg keygen --out DIR`',
    });
  }
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('internal error: Ed25519 JWK export has no "x"');
  return Buffer.from(jwk.x, 'base64url');
}

export function keyIdOf(key: KeyObject): string {
  return 'ed25519:' + createHash('sha256').update(rawEd25519PublicKey(key)).digest('hex').slice(0, 32);
}
