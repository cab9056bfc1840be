/**
 * Detached Ed25519 signatures of policy files (`<policy>.sig`).
 *
 * The signature covers the policy file's exact bytes: Ed25519 over the domain-separated
 * message "zt-ffmpeg-policy-signature-v1:" + sha256-hex(bytes), so a signature made for a
 * policy can never be replayed as a signature of anything else (an audit record, say) made with
 * the same key. The .sig file is JSON:
 *   { "v": 1, "alg": "ed25519", "keyid": "ed25519:<32 hex>", "sha256": "<64 hex>", "sig": "<base64>" }
 * Verification refuses (ZtError 'policy-signature', exit 9) a missing or malformed .sig, a
 * digest that does not match the bytes, a key outside the trusted keyring, and a bad signature.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ZtError } from '../errors.js';
import { ed25519PrivateKey, KEY_ID_PATTERN, keyIdOf, trustedKeysFromPems, type KeyRole, type PemInput, type TrustedKeys } from '../keys/index.js';

export const SIGNATURE_CONTEXT = 'zt-ffmpeg-policy-signature-v1:';
const MAX_SIG_BYTES = 4096;

/** A policy is signed with the key from `zt-ffmpeg keygen`; a wrong one is a usage error. */
const SIGNING_KEY: KeyRole = { label: 'the policy signing key', reason: 'usage', hint: 'pass the .key file written by `zt-ffmpeg keygen`' };

/** A bad key in a policy keyring makes every signature uncheckable: a policy-signature failure (exit 9). */
const KEYRING_KEY: KeyRole = { label: 'a trusted key', reason: 'policy-signature', hint: 'trusted keys are the .pub files written by `zt-ffmpeg keygen`' };

export interface PolicySignatureFile {
  readonly v: 1;
  readonly alg: 'ed25519';
  readonly keyid: string;
  readonly sha256: string;
  readonly sig: string;
}

export type PolicySignatureProblem = 'missing' | 'malformed' | 'digest' | 'untrusted-key' | 'signature';

export type PolicySignatureCheck =
  | { readonly ok: true; readonly keyId: string; readonly sha256: string }
  | { readonly ok: false; readonly problem: PolicySignatureProblem; readonly error: ZtError };

export function signaturePathOf(policyPath: string): string {
  return `${policyPath}.sig`;
}

function digestHex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function signedMessage(sha256: string): Buffer {
  return Buffer.from(SIGNATURE_CONTEXT + sha256, 'utf8');
}

/** The signature document for `bytes` (pure apart from the signing itself). */
export function signPolicyBytes(bytes: Uint8Array, signingKey: KeyObject, keyId?: string): PolicySignatureFile {
  const privateKey = ed25519PrivateKey(signingKey, SIGNING_KEY);
  const actualId = keyIdOf(privateKey);
  if (keyId !== undefined && keyId !== actualId) {
    throw new ZtError('usage', `key id "${keyId}" does not belong to this key (its id is "${actualId}")`, {
      hint: 'omit the key id: it is derived from the key',
    });
  }
  const sha256 = digestHex(bytes);
  const sig = sign(null, signedMessage(sha256), privateKey).toString('base64');
  return { v: 1, alg: 'ed25519', keyid: actualId, sha256, sig };
}

/** Sign the policy file and write `<policy>.sig` atomically. Returns the .sig path. */
export async function signPolicyFile(policyPath: string, privateKey: KeyObject | PemInput, keyId?: string): Promise<string> {
  const key = ed25519PrivateKey(privateKey, SIGNING_KEY);
  let bytes: Buffer;
  try {
    bytes = await readFile(policyPath);
  } catch (e: unknown) {
    throw new ZtError('usage', `policy ${policyPath} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'pass the path of the policy file to sign',
      cause: e,
    });
  }
  const doc = signPolicyBytes(bytes, key, keyId);
  const target = signaturePathOf(policyPath);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
    await rename(tmp, target);
  } catch (e: unknown) {
    await unlink(tmp).catch(() => undefined);
    throw new ZtError('usage', `cannot write ${target} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'the signature is written next to the policy file: make that directory writable',
      cause: e,
    });
  }
  return target;
}

function failure(problem: PolicySignatureProblem, policyPath: string, message: string, hint: string, details: Record<string, unknown> = {}): PolicySignatureCheck {
  return {
    ok: false,
    problem,
    error: new ZtError('policy-signature', `${policyPath}: ${message}`, {
      hint,
      details: { problem, policy: policyPath, signature: signaturePathOf(policyPath), ...details },
    }),
  };
}

function parseSignatureFile(text: string): PolicySignatureFile | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e: unknown) {
    return `is not JSON (${(e as Error).message})`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'is not a JSON object';
  const d = doc as Record<string, unknown>;
  const extra = Object.keys(d).filter((k) => !['v', 'alg', 'keyid', 'sha256', 'sig'].includes(k));
  if (extra.length > 0) return `has unknown fields: ${extra.join(', ')}`;
  if (d['v'] !== 1) return `has version ${JSON.stringify(d['v'])}, expected 1`;
  if (d['alg'] !== 'ed25519') return `has alg ${JSON.stringify(d['alg'])}, expected "ed25519"`;
  if (typeof d['keyid'] !== 'string' || !KEY_ID_PATTERN.test(d['keyid'])) return 'has no valid "keyid" (ed25519:<32 hex>)';
  if (typeof d['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(d['sha256'])) return 'has no valid "sha256" (64 hex)';
  if (typeof d['sig'] !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(d['sig'])) return 'has no valid "sig" (base64 of 64 bytes)';
  return d as unknown as PolicySignatureFile;
}

/** Read `<policyPath>.sig` (bounded); a failure when it is missing, not a file or too big. */
function readSignatureText(policyPath: string, signHint: string): string | PolicySignatureCheck {
  const sigPath = signaturePathOf(policyPath);
  try {
    const st = statSync(sigPath);
    if (!st.isFile()) return failure('malformed', policyPath, `${sigPath} is not a regular file`, signHint);
    if (st.size > MAX_SIG_BYTES) return failure('malformed', policyPath, `${sigPath} is ${st.size} bytes, more than ${MAX_SIG_BYTES}`, signHint);
    return readFileSync(sigPath, 'utf8');
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failure('missing', policyPath, `the policy must be signed, but ${sigPath} does not exist`, signHint);
    return failure('missing', policyPath, `${sigPath} cannot be read (${code ?? 'error'})`, signHint);
  }
}

/**
 * Check `<policyPath>.sig` against `bytes` (the exact bytes that were parsed as the policy) and
 * the trusted keyring (key id → Ed25519 public key). `sigBytes`, when given, is the signature
 * file as the caller read it (a job reads it as a trust root); `undefined` reads it here.
 */
export function verifyPolicySignature(policyPath: string, bytes: Uint8Array, trusted: TrustedKeys, sigBytes?: Buffer | 'missing'): PolicySignatureCheck {
  const sigPath = signaturePathOf(policyPath);
  const signHint = `sign it with a trusted key: zt-ffmpeg policy sign ${policyPath} --key KEYFILE`;
  let text: string;
  if (sigBytes === 'missing') return failure('missing', policyPath, `the policy must be signed, but ${sigPath} does not exist`, signHint);
  if (sigBytes !== undefined) {
    if (sigBytes.length > MAX_SIG_BYTES) return failure('malformed', policyPath, `${sigPath} is ${sigBytes.length} bytes, more than ${MAX_SIG_BYTES}`, signHint);
    text = sigBytes.toString('utf8');
  } else {
    const read = readSignatureText(policyPath, signHint);
    if (typeof read !== 'string') return read;
    text = read;
  }
  const doc = parseSignatureFile(text);
  if (typeof doc === 'string') return failure('malformed', policyPath, `${sigPath} ${doc}`, signHint);
  const actual = digestHex(bytes);
  if (doc.sha256 !== actual) {
    return failure(
      'digest',
      policyPath,
      `the policy was modified after it was signed: signed sha256 ${doc.sha256}, file sha256 ${actual}`,
      `review the change; if it is intended, re-sign: zt-ffmpeg policy sign ${policyPath} --key KEYFILE`,
      { expected: doc.sha256, found: actual, keyId: doc.keyid },
    );
  }
  const key = trusted.get(doc.keyid);
  if (key === undefined) {
    return failure(
      'untrusted-key',
      policyPath,
      `signed by key ${doc.keyid}, which is not in the trusted keyring (${trusted.size === 0 ? 'empty' : [...trusted.keys()].join(', ')})`,
      'add the signer\'s public key to the trusted keyring, or re-sign with a trusted key',
      { keyId: doc.keyid, trusted: [...trusted.keys()] },
    );
  }
  let good = false;
  try {
    good = verify(null, signedMessage(actual), key, Buffer.from(doc.sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) {
    return failure('signature', policyPath, `the signature in ${sigPath} does not verify with trusted key ${doc.keyid}`, signHint, { keyId: doc.keyid });
  }
  return { ok: true, keyId: doc.keyid, sha256: actual };
}

/** verifyPolicySignature(), throwing the ZtError (exit 9) on failure; returns the signer's key id. */
export function requirePolicySignature(policyPath: string, bytes: Uint8Array, trusted: TrustedKeys, sigBytes?: Buffer | 'missing'): string {
  const r = verifyPolicySignature(policyPath, bytes, trusted, sigBytes);
  if (!r.ok) throw r.error;
  return r.keyId;
}

/** A policy keyring (key id → public key) from Ed25519 PEMs (public or private). */
export function keyringFromPems(pems: readonly PemInput[]): TrustedKeys {
  return trustedKeysFromPems(pems, KEYRING_KEY);
}
