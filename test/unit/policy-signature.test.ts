/** Detached Ed25519 policy signatures: sign, verify, and every way a signed policy can be broken. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZtError } from '../../src/errors.js';
import { keyIdOf, type TrustedKeys } from '../../src/keys/index.js';
import {
  keyringFromPems,
  requirePolicySignature,
  signaturePathOf,
  signPolicyFile,
  verifyPolicySignature,
  type PolicySignatureCheck,
} from '../../src/policy/signature.js';

const POLICY = `apiVersion: zt-ffmpeg/v1
stage: optimal
mode: enforce
authorization:
  default: deny
  rules: []
`;

let dir: string;
let policyPath: string;
let signer: { privateKey: KeyObject; publicKey: KeyObject };
let stranger: { privateKey: KeyObject; publicKey: KeyObject };
let trusted: TrustedKeys;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zt-polsig-'));
  policyPath = path.join(dir, 'policy.yaml');
  signer = generateKeyPairSync('ed25519');
  stranger = generateKeyPairSync('ed25519');
  trusted = keyringFromPems([signer.publicKey.export({ format: 'pem', type: 'spki' }).toString()]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshSigned(): Promise<Buffer> {
  await writeFile(policyPath, POLICY);
  await signPolicyFile(policyPath, signer.privateKey);
  return readFile(policyPath);
}

function failed(r: PolicySignatureCheck, problem: string): ZtError {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.problem).toBe(problem);
  expect(r.error.reason).toBe('policy-signature');
  expect(r.error.exitCode).toBe(9);
  expect(r.error.hint).toBeTruthy();
  return r.error;
}

describe('policy signatures', () => {
  it('sign then verify', async () => {
    const bytes = await freshSigned();
    const sig = JSON.parse(await readFile(signaturePathOf(policyPath), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(sig).sort()).toEqual(['alg', 'keyid', 'sha256', 'sig', 'v']);
    expect(sig['alg']).toBe('ed25519');
    expect(sig['keyid']).toBe(keyIdOf(signer.publicKey));
    expect(sig['keyid']).toMatch(/^ed25519:[0-9a-f]{32}$/);
    const r = verifyPolicySignature(policyPath, bytes, trusted);
    expect(r).toEqual({ ok: true, keyId: keyIdOf(signer.publicKey), sha256: sig['sha256'] });
    expect(requirePolicySignature(policyPath, bytes, trusted)).toBe(keyIdOf(signer.publicKey));
  });

  it('signing with a PEM string and re-signing overwrite the .sig', async () => {
    await writeFile(policyPath, POLICY);
    const pem = signer.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(await signPolicyFile(policyPath, pem)).toBe(`${policyPath}.sig`);
    expect(await signPolicyFile(policyPath, pem)).toBe(`${policyPath}.sig`);
    expect(verifyPolicySignature(policyPath, await readFile(policyPath), trusted).ok).toBe(true);
  });

  it('one byte changed: refused as modified, with both digests', async () => {
    const bytes = await freshSigned();
    for (const i of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 0x01;
      const e = failed(verifyPolicySignature(policyPath, changed, trusted), 'digest');
      expect(e.message).toContain('modified');
      expect(e.hint).toContain('zt-ffmpeg policy sign');
    }
  });

  it('.sig removed: refused as unsigned', async () => {
    const bytes = await freshSigned();
    await unlink(signaturePathOf(policyPath));
    const e = failed(verifyPolicySignature(policyPath, bytes, trusted), 'missing');
    expect(e.hint).toContain(`zt-ffmpeg policy sign ${policyPath}`);
    expect(() => requirePolicySignature(policyPath, bytes, trusted)).toThrow(ZtError);
  });

  it('signed by a key outside the keyring: refused as untrusted', async () => {
    await writeFile(policyPath, POLICY);
    await signPolicyFile(policyPath, stranger.privateKey);
    const e = failed(verifyPolicySignature(policyPath, await readFile(policyPath), trusted), 'untrusted-key');
    expect(e.message).toContain(keyIdOf(stranger.publicKey));
    failed(verifyPolicySignature(policyPath, await readFile(policyPath), new Map()), 'untrusted-key');
  });

  it('a forged .sig: right digest and trusted key id, wrong signature', async () => {
    const bytes = await freshSigned();
    const sigPath = signaturePathOf(policyPath);
    const doc = JSON.parse(await readFile(sigPath, 'utf8')) as Record<string, string>;
    // Re-sign with the stranger but claim the trusted key's id.
    await signPolicyFile(policyPath, stranger.privateKey);
    const forged = JSON.parse(await readFile(sigPath, 'utf8')) as Record<string, string>;
    await writeFile(sigPath, JSON.stringify({ ...forged, keyid: doc['keyid'] }));
    failed(verifyPolicySignature(policyPath, bytes, trusted), 'signature');
  });

  it('a modified policy with a .sig recomputed for its digest but no valid signature', async () => {
    await freshSigned();
    const sigPath = signaturePathOf(policyPath);
    const doc = JSON.parse(await readFile(sigPath, 'utf8')) as Record<string, string>;
    const evil = Buffer.from(POLICY.replace('default: deny', 'default: allow'));
    await writeFile(policyPath, evil);
    const { createHash } = await import('node:crypto');
    await writeFile(sigPath, JSON.stringify({ ...doc, sha256: createHash('sha256').update(evil).digest('hex') }));
    failed(verifyPolicySignature(policyPath, evil, trusted), 'signature');
  });

  it('malformed .sig files', async () => {
    const bytes = await freshSigned();
    const sigPath = signaturePathOf(policyPath);
    const good = JSON.parse(await readFile(sigPath, 'utf8')) as Record<string, unknown>;
    const bad: unknown[] = [
      'not json',
      '[]',
      { ...good, v: 2 },
      { ...good, alg: 'rsa' },
      { ...good, keyid: 'mine' },
      { ...good, sha256: 'abc' },
      { ...good, sig: 'short' },
      { ...good, extra: 1 },
    ];
    for (const b of bad) {
      await writeFile(sigPath, typeof b === 'string' ? b : JSON.stringify(b));
      failed(verifyPolicySignature(policyPath, bytes, trusted), 'malformed');
    }
    await rm(sigPath);
    await mkdir(sigPath);
    failed(verifyPolicySignature(policyPath, bytes, trusted), 'malformed');
    await rm(sigPath, { recursive: true });
  });

  it('a raw Ed25519 signature over the file bytes is not accepted (the message is domain-separated)', async () => {
    const bytes = await freshSigned();
    const { sign } = await import('node:crypto');
    const sigPath = signaturePathOf(policyPath);
    const doc = JSON.parse(await readFile(sigPath, 'utf8')) as Record<string, string>;
    const raw = sign(null, bytes, signer.privateKey).toString('base64');
    await writeFile(sigPath, JSON.stringify({ ...doc, sig: raw }));
    failed(verifyPolicySignature(policyPath, bytes, trusted), 'signature');
  });

  it('refuses to sign with the wrong kind of key or a mismatched key id', async () => {
    await writeFile(policyPath, POLICY);
    await expect(signPolicyFile(policyPath, signer.publicKey)).rejects.toMatchObject({ exitCode: 2 });
    await expect(signPolicyFile(policyPath, signer.privateKey, 'ed25519:' + '0'.repeat(32))).rejects.toMatchObject({ exitCode: 2 });
    await expect(signPolicyFile(policyPath, 'junk')).rejects.toMatchObject({ exitCode: 2 });
    await expect(signPolicyFile(path.join(dir, 'absent.yaml'), signer.privateKey)).rejects.toMatchObject({ exitCode: 2 });
    expect(() => keyringFromPems([generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString()])).toThrow(ZtError);
  });
});
