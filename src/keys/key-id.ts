/**
 * The one key-id rule: "ed25519:" + the first 32 hex digits (16 bytes) of the sha256 of the raw
 * 32-byte public key. Audit records, checkpoints, provenance, policy signatures and token `kid`s
 * all name their key this way, so one key has one id wherever it signs, and an id read from a log
 * or a .sig file can be looked up in a keyring built from .pub files. An id names a key; it never
 * vouches for it: which keys are trusted comes only from the verifier's keyring (trusted-keys.ts).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ZtError } from '../errors.js';

/** The shape of a key id, for parsers of untrusted documents that carry one. */
export const KEY_ID_PATTERN = /^ed25519:[0-9a-f]{32}$/;

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

/** The key id of an Ed25519 key (public or private: both halves have the same id). */
export function keyIdOf(key: KeyObject): string {
  return 'ed25519:' + createHash('sha256').update(rawEd25519PublicKey(key)).digest('hex').slice(0, 32);
}
