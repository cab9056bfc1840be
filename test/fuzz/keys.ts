/** Fixed Ed25519 keys for the fuzz targets, so that a corpus input signed in one run verifies in the next. */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { keyIdOf, type SigningKey } from '../../src/keys/index.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function fixedKey(label: string): SigningKey {
  const seed = Buffer.alloc(32);
  seed.write(label.padEnd(32, '.').slice(0, 32), 'latin1');
  const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, path: `fuzz:${label}` };
}
