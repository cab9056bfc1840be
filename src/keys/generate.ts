/**
 * New Ed25519 key pairs on disk: `zt-ffmpeg keygen` and the audit key made on first use. The
 * private half is written 0600 in a 0700 directory and never replaces an existing file, since a
 * replaced key would orphan everything it signed; creation is exclusive, so two processes racing
 * to make the first-use key end up with one key between them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { ZtError } from '../errors.js';
import { createFileExclusive } from '../audit/durable-fs.js';
import { auditUnavailable, errnoOf } from '../audit/fs-errors.js';
import { keyIdOf } from './key-id.js';

export interface GeneratedKeyPair {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
}

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

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Write a new key pair as `NAME.key` (0600) and `NAME.pub` (0644) in `outDir` (created 0700);
 * NAME defaults to `audit`. Refuses to overwrite an existing key.
 */
export async function generateKeyPair(outDir: string, name = 'audit'): Promise<GeneratedKeyPair> {
  const privateKeyPath = join(outDir, `${name}.key`);
  const publicKeyPath = join(outDir, `${name}.pub`);
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

/**
 * Make the audit signing key at `path` (0600, directory 0700) and its .pub beside it, racing
 * safely with other processes: whoever loses the race loads the winner's key. Only
 * loadSigningKey calls this, and only where the policy stage lets a key be made on first use.
 */
export async function generateOnFirstUse(path: string): Promise<void> {
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
