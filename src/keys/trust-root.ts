/**
 * Trust roots are checked like ssh's StrictModes checks authorized_keys: the audit key, the
 * policy keyrings (directory and files), the JWKS a policy names, the issuer key, the policy
 * file and its signature. Another local user who can write one of them, or replace the
 * directory it lies in, can add a key and re-sign a loosened policy, mint tokens, or append
 * validly signed audit records. So each must be a regular file owned by root or the caller,
 * not writable by group or others, reached through directories and links only root or the
 * caller control (src/util/strict-modes.ts), and it is read from the descriptor that was
 * checked. A refusal names the file, its owner and its mode, with the exit code of the role.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ZtError, type FailureReason } from '../errors.js';
import { describeProblem, replaceableBy, resolveSecureDirectory } from '../util/strict-modes.js';

export interface TrustRootRole {
  /** What the file is, for messages: "audit signing key", "policy keyring". */
  readonly what: string;
  /** The failure reason (and so the exit code) when it is not trustworthy. */
  readonly reason: FailureReason;
  /** A private key: also unreadable by group and others (0600). */
  readonly secret?: boolean;
  /** The file itself may not be a symbolic link. */
  readonly noFollow?: boolean;
}

function mode(st: Pick<Stats, 'mode'>): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

function untrusted(role: TrustRootRole, file: string, problem: string, hint: string, details: Record<string, unknown>): ZtError {
  return new ZtError(role.reason, `${role.what} ${file} is not a trustworthy trust root: ${problem}`, { hint, details: { path: file, ...details } });
}

/** The directory a trust root lies in: nobody but root or the caller may replace it or what is in it. */
export async function checkTrustDirectory(dir: string, role: TrustRootRole): Promise<string> {
  const caller = process.geteuid?.() ?? 0;
  const r = await resolveSecureDirectory(dir, caller);
  if (r.ok) return r.real;
  if ('missing' in r) throw untrusted(role, dir, `${r.missing}: ${r.code}`, 'check the path', { code: r.code });
  const p = r.problem;
  throw untrusted(role, dir, describeProblem(p), `make it yours or root's and not writable by others: chown root ${p.path} && chmod go-w ${p.path}`, { culprit: p.path, uid: p.uid, mode: p.mode });
}

/** Pure: what is wrong with a trust root's own stat; undefined when nothing is. */
export function trustRootProblem(st: Pick<Stats, 'uid' | 'mode'> & { isFile(): boolean }, caller: number, secret: boolean): string | undefined {
  if (!st.isFile()) return 'not a regular file';
  const why = replaceableBy({ uid: st.uid, mode: st.mode, symlink: false }, caller);
  if (why !== undefined) return `${why} (uid ${st.uid}, mode ${mode(st)})`;
  if (secret && (st.mode & 0o077) !== 0) return `accessible by group or others (mode ${mode(st)}, expected 0600)`;
  return undefined;
}

/**
 * Open a trust root and check it, its links and its directories; returns it open (the caller
 * reads from and closes the descriptor that was checked).
 */
export async function openTrustRoot(file: string, role: TrustRootRole): Promise<FileHandle> {
  const caller = process.geteuid?.() ?? 0;
  const abs = path.resolve(file);
  await checkTrustDirectory(path.dirname(abs), role);
  const link = await lstat(abs).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    if (role.noFollow) throw untrusted(role, abs, 'a symbolic link', `point at the ${role.what} itself`, {});
    if (link.uid !== 0 && link.uid !== caller) throw untrusted(role, abs, `a symbolic link owned by uid ${link.uid}`, 'replace the link with one you own, or name the file itself', { uid: link.uid });
  }
  const h = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (role.noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const st = await h.stat();
    const problem = trustRootProblem(st, caller, role.secret === true);
    if (problem !== undefined) {
      const fix = role.secret ? `chown $(id -u) ${abs} && chmod 600 ${abs}` : `chown $(id -u) ${abs} && chmod go-w ${abs}`;
      throw untrusted(role, abs, problem, fix, { uid: st.uid, mode: mode(st) });
    }
    if (link?.isSymbolicLink()) await checkTrustDirectory(path.dirname(await realTarget(h)), role);
    return h;
  } catch (e) {
    await h.close();
    throw e;
  }
}

function realTarget(h: FileHandle): Promise<string> {
  return readlink(`/proc/self/fd/${h.fd}`);
}

/** Read a whole trust root (at most maxBytes) from the checked descriptor. */
export async function readTrustRoot(file: string, role: TrustRootRole, maxBytes = 1024 * 1024): Promise<Buffer> {
  const h = await openTrustRoot(file, role);
  try {
    const st = await h.stat();
    if (st.size > maxBytes) {
      throw new ZtError(role.reason, `${role.what} ${path.resolve(file)} is ${st.size} bytes, more than the ${maxBytes} a ${role.what} may be`, {
        hint: `a ${role.what} is a small file; check that the path names the right one`,
        details: { path: path.resolve(file), size: st.size, limit: maxBytes },
      });
    }
    // Read at most maxBytes + 1 from the checked descriptor: a file that grows meanwhile is refused, not read without end.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (let r = 1; r > 0 && got < buf.length; got += r) r = (await h.read(buf, got, buf.length - got, got)).bytesRead;
    if (got > maxBytes) throw new ZtError(role.reason, `${role.what} ${path.resolve(file)} grew past ${maxBytes} bytes while being read`, { hint: 'do not change trust roots while zt-ffmpeg reads them', details: { path: path.resolve(file) } });
    return buf.subarray(0, got);
  } finally {
    await h.close();
  }
}
