/**
 * Private keys read from files. Each kind of private key file is opened by exactly one function
 * here, so every check made on such a file (type, mode, and later ownership) has one home:
 *   - loadSigningKey: the audit signing key (also the key `policy sign` uses): a trust root
 *     (trust-root.ts): a regular file, not a symlink, owned by root or the caller, mode 0600,
 *     in directories nobody else controls; made on first use where the policy stage allows it.
 *   - loadTokenSigningKey: the issuer key `token mint` signs with: a trust root too.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ZtError } from '../errors.js';
import { auditUnavailable, errnoOf } from '../audit/fs-errors.js';
import { generateOnFirstUse } from './generate.js';
import { keyIdOf } from './key-id.js';
import { ed25519PrivateKey } from './pem.js';
import { readTrustRoot } from './trust-root.js';
import { describeKind } from '../util/file-kind.js';

/** An Ed25519 private key with its public half and id, as every signer in the project takes it. */
export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where the private key was loaded from. */
  readonly path: string;
}

const KEYGEN_HINT = (dir: string): string => `create one with \`zt-ffmpeg keygen --out ${dir}\` and pass it with --audit-key / ZT_FFMPEG_AUDIT_KEY`;

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
    await generateOnFirstUse(path);
    st = await lstatOrUndefined(path);
    if (st === undefined) throw auditUnavailable('generate the audit signing key', path, new Error('key vanished after creation'));
  }
  if (!st.isFile()) {
    throw new ZtError('audit-unavailable', `audit signing key ${path} is not a regular file (found ${describeKind(st)})`, {
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
    // Owned by someone else, that someone could append validly signed records: refused.
    pem = await readTrustRoot(path, { what: 'audit signing key', reason: 'audit-unavailable', secret: true, noFollow: true }, 64 * 1024);
  } catch (e: unknown) {
    if (e instanceof ZtError) throw e;
    throw auditUnavailable('read the audit signing key', path, e);
  }
  const privateKey = ed25519PrivateKey(pem, { label: `audit signing key ${path}`, reason: 'audit-unavailable', hint: KEYGEN_HINT(dirname(path)) });
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, path };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(path);
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw auditUnavailable('inspect the audit signing key', path, e);
  }
}

/**
 * Load the Ed25519 private key `token mint` signs with: a trust root like every key file (owned
 * by root or the caller, not writable by others), though not held to 0600 (a local test and
 * scripting issuer); any further check belongs here, the one place this file is opened.
 */
export async function loadTokenSigningKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = (await readTrustRoot(path, { what: 'issuer key', reason: 'usage' }, 64 * 1024)).toString('utf8');
  } catch (e: unknown) {
    if (e instanceof ZtError) throw e;
    throw new ZtError('usage', `cannot read the issuer key ${path}: ${errnoOf(e)}`, { hint: 'make one with `zt-ffmpeg keygen --out DIR` and pass DIR/audit.key' });
  }
  return ed25519PrivateKey(pem, { label: `issuer key ${path}`, reason: 'usage', hint: 'generate one with `zt-ffmpeg keygen --out DIR`' });
}
