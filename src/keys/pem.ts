/**
 * Ed25519 keys from PEM text, checked once, at the edge. node:crypto parses RSA, EC and Ed448
 * keys just as happily, and derives a public key from a private PEM without a word; every caller
 * here wants exactly an Ed25519 key of one kind, so those checks live in this one file. A caller
 * only says what the key is for (a KeyRole): how messages name it (with its file, where it has
 * one), the failure reason, and so the exit code, that stays the caller's (8 for the audit key,
 * 2 for a command's key, 9 for a policy keyring), and what to do about it.
 */
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { ZtError, type FailureReason } from '../errors.js';

/** What a key is for, as its failures should say it. */
export interface KeyRole {
  /** The key as messages name it, with its file where it has one: "audit signing key /x/audit.key". */
  readonly label: string;
  /** Why a wrong key fails, and so the exit code. */
  readonly reason: FailureReason;
  /** What to do about a wrong key. */
  readonly hint: string;
}

/** PEM text as read from a file or given inline. */
export type PemInput = string | Buffer;

const PUBLIC_PEM_HEADER = '-----BEGIN PUBLIC KEY-----';

function refused(role: KeyRole, problem: string, cause?: unknown): ZtError {
  return new ZtError(role.reason, `${role.label} ${problem}`, { hint: role.hint, ...(cause !== undefined ? { cause } : {}) });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function requireEd25519(key: KeyObject, role: KeyRole): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw refused(role, `is a ${String(key.asymmetricKeyType)} key; expected ed25519`);
  return key;
}

/**
 * An Ed25519 private key from PEM, or an already parsed KeyObject checked the same way (callers
 * that embed us may hold one). A public key, an encrypted PEM or another algorithm is refused.
 */
export function ed25519PrivateKey(key: PemInput | KeyObject, role: KeyRole): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'private') throw refused(role, `is a ${key.type} key; expected an Ed25519 private key`);
    return requireEd25519(key, role);
  }
  let parsed: KeyObject;
  try {
    parsed = createPrivateKey(key);
  } catch (e: unknown) {
    throw refused(role, `is not a PEM private key (${messageOf(e)})`, e);
  }
  return requireEd25519(parsed, role);
}

/**
 * An Ed25519 public key from PEM. A trust root must be a public key as such: with
 * `privateAllowed: false` a PEM without a "BEGIN PUBLIC KEY" block is refused (node would
 * quietly derive the public half of a private key), so nobody is led to copy a private key into
 * a keyring. Where a PEM only names a key (a JWK for a policy, an in-memory keyring), either half
 * will do.
 */
export function ed25519PublicKey(pem: PemInput, role: KeyRole, opts: { readonly privateAllowed: boolean }): KeyObject {
  if (!opts.privateAllowed && !(typeof pem === 'string' ? pem.includes(PUBLIC_PEM_HEADER) : pem.includes(PUBLIC_PEM_HEADER))) {
    throw refused(role, `is not a PEM public key (expected "${PUBLIC_PEM_HEADER}")`);
  }
  let parsed: KeyObject;
  try {
    parsed = createPublicKey(pem);
  } catch (e: unknown) {
    throw refused(role, opts.privateAllowed ? `is not a PEM key (${messageOf(e)})` : 'cannot be parsed as a public key', e);
  }
  return requireEd25519(parsed, role);
}
