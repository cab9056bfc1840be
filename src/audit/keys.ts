/**
 * Ed25519 audit keys (node:crypto). A key id is derived from the raw public key,
 * so a log can name its signer but never vouch for it: which keys are trusted
 * comes only from the verifier's own key files / keyring (loadTrustedKeys).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ZtError } from '../errors.js';
import { createFileExclusive } from './durable-fs.js';
import { auditUnavailable, errnoOf } from './fs-errors.js';

export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where the private key was loaded from. */
  readonly path: string;
}

/** keyId → public key. Built only from files the verifier chose, never from a log. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

export interface GeneratedKeyPair {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
}

const KEYGEN_HINT = (dir: string): string => `create one with \`zt-ffmpeg keygen --out ${dir}\` and pass it with --audit-key / ZT_FFMPEG_AUDIT_KEY`;

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`internal error: expected an ed25519 key, got ${String(publicKey.asymmetricKeyType)}`);
  }
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('internal error: ed25519 JWK without x');
  return Buffer.from(jwk.x, 'base64url');
}

/** "ed25519:" + the first 16 bytes (32 hex digits) of sha256(raw public key): one rule project-wide. */
import { keyIdOf } from '../util/key-id.js';

export { keyIdOf };

/** The public-key path that goes with a private-key path: x.key → x.pub, else x → x.pub. */
export function publicKeyPathFor(privateKeyPath: string): string {
  return privateKeyPath.endsWith('.key') ? `${privateKeyPath.slice(0, -4)}.pub` : `${privateKeyPath}.pub`;
}

function newPemPair(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Write a new key pair as `audit.key` (0600) and `audit.pub` (0644) in `outDir`
 * (created 0700). Refuses to overwrite an existing key.
 */
export async function generateKeyPair(outDir: string): Promise<GeneratedKeyPair> {
  const privateKeyPath = join(outDir, 'audit.key');
  const publicKeyPath = join(outDir, 'audit.pub');
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (await exists(p)) {
      throw new ZtError('usage', `refusing to overwrite the existing key file ${p}`, {
        hint: `choose another --out directory, or move ${p} away first if you really mean to replace the key (records it signed stay verifiable only with its .pub)`,
        details: { path: p },
      });
    }
  }
  try {
    await ensurePrivateDir(outDir);
    const pair = newPemPair();
    if (!(await createFileExclusive(privateKeyPath, pair.privatePem, 0o600))) {
      throw new ZtError('usage', `refusing to overwrite the existing key file ${privateKeyPath}`, {
        hint: 'another process created it at the same moment; use that key or choose another --out directory',
      });
    }
    if (!(await createFileExclusive(publicKeyPath, pair.publicPem, 0o644))) {
      throw new ZtError('usage', `refusing to overwrite the existing key file ${publicKeyPath}`, {
        hint: `move ${publicKeyPath} away and run keygen again`,
      });
    }
    return { privateKeyPath, publicKeyPath, keyId: pair.keyId };
  } catch (e: unknown) {
    if (e instanceof ZtError) throw e;
    throw new ZtError('usage', `cannot create a key pair in ${outDir}: ${errnoOf(e)}`, {
      hint: 'choose a writable --out directory',
      cause: e,
    });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Auto-generate a signing key at `path` (0600, directory 0700), racing safely with other processes. */
async function autoGenerate(path: string): Promise<void> {
  try {
    await ensurePrivateDir(dirname(path));
    const pair = newPemPair();
    if (await createFileExclusive(path, pair.privatePem, 0o600)) {
      await createFileExclusive(publicKeyPathFor(path), pair.publicPem, 0o644);
    }
    // else: another process generated it first; we load theirs.
  } catch (e: unknown) {
    throw auditUnavailable('generate the audit signing key', path, e);
  }
}

/**
 * Load the Ed25519 private key that signs audit records. The file must be a
 * regular file (not a symlink) readable by its owner only.
 */
export async function loadSigningKey(path: string, opts: { autoGenerate: boolean }): Promise<SigningKey> {
  let st = await lstatOrUndefined(path);
  if (st === undefined) {
    if (!opts.autoGenerate) {
      throw new ZtError('audit-unavailable', `audit signing key ${path} does not exist`, {
        hint: `${KEYGEN_HINT(dirname(path))} (this policy stage does not auto-generate keys)`,
        details: { path },
      });
    }
    await autoGenerate(path);
    st = await lstatOrUndefined(path);
    if (st === undefined) throw auditUnavailable('generate the audit signing key', path, new Error('key vanished after creation'));
  }
  if (!st.isFile()) {
    throw new ZtError('audit-unavailable', `audit signing key ${path} is not a regular file (found ${describeType(st)})`, {
      hint: `point --audit-key at the key file itself; ${KEYGEN_HINT(dirname(path))}`,
      details: { path },
    });
  }
  if ((st.mode & 0o077) !== 0) {
    throw new ZtError(
      'audit-unavailable',
      `audit signing key ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, expected 0600)`,
      { hint: `chmod 600 ${path}`, details: { path, mode: st.mode & 0o777 } },
    );
  }
  let pem: Buffer;
  try {
    pem = await fs.readFile(path, { flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  } catch (e: unknown) {
    throw auditUnavailable('read the audit signing key', path, e);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e: unknown) {
    throw new ZtError('audit-unavailable', `audit signing key ${path} is not a PEM private key`, {
      hint: KEYGEN_HINT(dirname(path)),
      cause: e,
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ZtError('audit-unavailable', `audit signing key ${path} is a ${String(privateKey.asymmetricKeyType)} key; expected ed25519`, {
      hint: KEYGEN_HINT(dirname(path)),
    });
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, path };
}

async function lstatOrUndefined(path: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fs.lstat(path);
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw auditUnavailable('inspect the audit signing key', path, e);
  }
}

function describeType(st: import('node:fs').Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

/** Parse one PEM public key file; it must hold an Ed25519 SubjectPublicKeyInfo. */
export async function loadPublicKeyFile(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await fs.readFile(path, 'utf8');
  } catch (e: unknown) {
    throw new ZtError('usage', `cannot read trusted key ${path}: ${errnoOf(e)}`, { hint: 'pass readable .pub files with --trusted-key or a --keyring directory', cause: e });
  }
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new ZtError('usage', `trusted key ${path} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")`, {
      hint: 'pass the .pub file written by `zt-ffmpeg keygen`, never the private key',
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e: unknown) {
    throw new ZtError('usage', `trusted key ${path} cannot be parsed as a public key`, { hint: 'pass the .pub file written by `zt-ffmpeg keygen`', cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ZtError('usage', `trusted key ${path} is a ${String(key.asymmetricKeyType)} key; expected ed25519`, {
      hint: 'audit logs are signed with Ed25519 keys from `zt-ffmpeg keygen`',
    });
  }
  return key;
}

/** Build a trust set from explicit key files and/or a directory of `*.pub` PEM files. */
export async function loadTrustedKeys(opts: { keyFiles?: readonly string[]; keyringDir?: string }): Promise<TrustedKeys> {
  const files = [...(opts.keyFiles ?? [])];
  if (opts.keyringDir !== undefined) {
    let names: string[];
    try {
      names = await fs.readdir(opts.keyringDir);
    } catch (e: unknown) {
      throw new ZtError('usage', `cannot read keyring directory ${opts.keyringDir}: ${errnoOf(e)}`, { hint: 'pass a directory of .pub files', cause: e });
    }
    for (const name of names.sort()) {
      if (!name.endsWith('.pub')) continue;
      const p = join(opts.keyringDir, name);
      const st = await fs.stat(p);
      if (st.isFile()) files.push(p);
    }
  }
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    const key = await loadPublicKeyFile(f);
    keys.set(keyIdOf(key), key);
  }
  if (keys.size === 0) {
    throw new ZtError('usage', 'no trusted audit keys were given', {
      hint: `pass the signer's public key with --trusted-key FILE.pub or a --keyring DIR of .pub files (trust never comes from the log itself)${
        opts.keyringDir !== undefined ? `; ${basename(opts.keyringDir)} holds no .pub files` : ''
      }`,
    });
  }
  return keys;
}

/** A trust set from in-memory public keys (for tests and embedding). */
export function trustedKeysOf(publicKeys: readonly KeyObject[]): TrustedKeys {
  return new Map(publicKeys.map((k) => [keyIdOf(k), k] as const));
}
