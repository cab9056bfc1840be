/**
 * Keyrings: key id → Ed25519 public key. A log, a .sig file or a token can only name its signer;
 * which keys are trusted comes from here alone, built from files the verifier chose (or keys it
 * holds in memory), never from the signed document. Each trust root is opened by one function:
 * a public key file by loadPublicKeyFile, a keyring directory by keyringFiles, so any check on
 * them (type, mode, ownership) has one home.
 */
import type { KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { ZtError } from '../errors.js';
import { errnoOf } from '../audit/fs-errors.js';
import { keyIdOf } from './key-id.js';
import { checkTrustDirectory, readTrustRoot } from './trust-root.js';
import { ed25519PublicKey, type KeyRole, type PemInput } from './pem.js';

/** keyId → public key. Built only from files the verifier chose, never from a log. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

/** Parse one PEM public key file; it must hold an Ed25519 SubjectPublicKeyInfo. */
export async function loadPublicKeyFile(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    // Whoever can write a trusted key decides what verifies: a trust root (trust-root.ts).
    pem = (await readTrustRoot(path, { what: 'trusted key', reason: 'usage' }, 64 * 1024)).toString('utf8');
  } catch (e: unknown) {
    if (e instanceof ZtError) throw e;
    throw new ZtError('usage', `cannot read trusted key ${path}: ${errnoOf(e)}`, { hint: 'pass readable .pub files with --trusted-key or a --keyring directory', cause: e });
  }
  return ed25519PublicKey(pem, { label: `trusted key ${path}`, reason: 'usage', hint: 'pass the .pub file written by `zt-ffmpeg keygen`, never the private key' }, { privateAllowed: false });
}

/** The `*.pub` regular files of a keyring directory, sorted by name; anything else there is ignored. */
export async function keyringFiles(dir: string): Promise<string[]> {
  // A keyring another user can write lets them add a key: the directory is a trust root too.
  await checkTrustDirectory(dir, { what: 'keyring directory', reason: 'usage' });
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e: unknown) {
    throw new ZtError('usage', `cannot read keyring directory ${dir}: ${errnoOf(e)}`, { hint: 'pass a directory of .pub files', cause: e });
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.pub')) continue;
    const p = join(dir, name);
    const st = await fs.stat(p);
    if (st.isFile()) files.push(p);
  }
  return files;
}

/** Build a trust set from explicit key files and/or a directory of `*.pub` PEM files. */
export async function loadTrustedKeys(opts: { keyFiles?: readonly string[]; keyringDir?: string }): Promise<TrustedKeys> {
  const files = [...(opts.keyFiles ?? []), ...(opts.keyringDir !== undefined ? await keyringFiles(opts.keyringDir) : [])];
  const keys: KeyObject[] = [];
  for (const f of files) keys.push(await loadPublicKeyFile(f));
  const trusted = trustedKeysOf(keys);
  if (trusted.size === 0) {
    throw new ZtError('usage', 'no trusted audit keys were given', {
      hint: `pass the signer's public key with --trusted-key FILE.pub or a --keyring DIR of .pub files (trust never comes from the log itself)${
        opts.keyringDir !== undefined ? `; ${basename(opts.keyringDir)} holds no .pub files` : ''
      }`,
    });
  }
  return trusted;
}

/** A trust set from in-memory public keys (for tests and embedding). */
export function trustedKeysOf(publicKeys: readonly KeyObject[]): TrustedKeys {
  return new Map(publicKeys.map((k) => [keyIdOf(k), k] as const));
}

/** A trust set from Ed25519 PEMs held in memory (public or private: only the public half is kept). */
export function trustedKeysFromPems(pems: readonly PemInput[], role: KeyRole): TrustedKeys {
  return trustedKeysOf(pems.map((pem) => ed25519PublicKey(pem, role, { privateAllowed: true })));
}
