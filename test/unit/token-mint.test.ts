/** The local issuer: minted tokens, their binding, the JWK a policy names, and bad options. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { ZtError } from '../../src/errors.js';
import { mintToken } from '../../src/identity/mint.js';
import { jwksFromPems, keyIdOf, publicJwkFromPem } from '../../src/keys/index.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
const SHA = 'ab'.repeat(32);
const NOW = new Date('2030-01-01T00:00:00Z');

async function usageError(p: Promise<unknown>): Promise<ZtError> {
  try {
    await p;
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(ZtError);
    expect((e as ZtError).exitCode).toBe(2);
    return e as ZtError;
  }
  throw new Error('expected a usage error');
}

describe('mintToken', () => {
  it('issues an EdDSA token with the registered claims and a kid derived from the key', async () => {
    const t = await mintToken({ privateKeyPem: privatePem, issuer: 'local', subject: 'bot', audience: 'zt-ffmpeg', ttlSeconds: 120, now: NOW, jti: 'j1', claims: { team: 'media' } });
    expect(decodeProtectedHeader(t)).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: keyIdOf(publicKey) });
    const now = NOW.getTime() / 1000;
    expect(decodeJwt(t)).toEqual({ team: 'media', iss: 'local', sub: 'bot', aud: 'zt-ffmpeg', iat: now, nbf: now, exp: now + 120, jti: 'j1' });
  });

  it('binds to (operation, input digest) in both audience and claim forms', async () => {
    const t = await mintToken({ privateKeyPem: privateKey, kid: 'k', issuer: 'local', subject: 'bot', audience: ['zt-ffmpeg'], ttlSeconds: 60, operation: 'transcode', inputSha256: SHA.toUpperCase() });
    const p = decodeJwt(t);
    expect(p.aud).toEqual(['zt-ffmpeg', `zt-ffmpeg:transcode:sha256:${SHA}`]);
    expect(p['zt_operation']).toBe('transcode');
    expect(p['zt_input_sha256']).toBe(SHA);
  });

  it('refuses bad options with usage errors', async () => {
    const base = { privateKeyPem: privatePem, issuer: 'local', subject: 'bot', audience: 'zt-ffmpeg', ttlSeconds: 60 };
    await usageError(mintToken({ ...base, ttlSeconds: 0 }));
    await usageError(mintToken({ ...base, ttlSeconds: 8 * 24 * 3600 }));
    await usageError(mintToken({ ...base, audience: [] }));
    await usageError(mintToken({ ...base, claims: { exp: 1 } }));
    await usageError(mintToken({ ...base, operation: 'transcode' }));
    await usageError(mintToken({ ...base, operation: 'transcode', inputSha256: 'nothex' }));
    await usageError(mintToken({ ...base, privateKeyPem: publicPem }));
    await usageError(mintToken({ ...base, privateKeyPem: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }));
    await usageError(mintToken({ ...base, privateKeyPem: 'not a pem' }));
  });
});

describe('publicJwkFromPem', () => {
  it('gives the public OKP JWK from a public or a private PEM, with the same kid', () => {
    const fromPub = publicJwkFromPem(publicPem);
    const fromPriv = publicJwkFromPem(privatePem);
    expect(fromPub).toEqual(fromPriv);
    expect(fromPub).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: keyIdOf(publicKey) });
    expect(fromPub).not.toHaveProperty('d');
    expect(fromPub.x).toBe(createPublicKey(publicPem).export({ format: 'jwk' }).x);
    expect(keyIdOf(publicKey)).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(jwksFromPems([publicPem]).keys).toHaveLength(1);
    expect(() => publicJwkFromPem('junk')).toThrow(ZtError);
  });
});
