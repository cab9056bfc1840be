/**
 * ssh's StrictModes for the places zt-ffmpeg writes to and the trust roots it reads: a path is
 * only as safe as every directory on the way to it. Another local user who owns an ancestor, or
 * can write one that has no sticky bit, or owns a symbolic link on the way, can swap what the
 * path names between our check and our use (a planted directory symlink sends root's output
 * into a root-only directory). So a path is resolved once, component by component, without
 * trusting any link or directory someone else controls, and refused naming the culprit.
 */
import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';

/** Why someone other than root or `caller` could replace what lies under this entry; undefined when nobody can. */
export function replaceableBy(st: Pick<Stats, 'uid' | 'mode'> & { readonly symlink: boolean }, caller: number): string | undefined {
  if (st.uid !== 0 && st.uid !== caller) return st.symlink ? `a symbolic link owned by uid ${st.uid}` : `owned by uid ${st.uid}`;
  if (st.symlink) return undefined;
  const sticky = (st.mode & 0o1000) !== 0;
  const who = [(st.mode & 0o020) !== 0 ? 'group' : '', (st.mode & 0o002) !== 0 ? 'others' : ''].filter((w) => w !== '').join(' and ');
  if (who !== '' && !sticky) return `writable by ${who} without the sticky bit`;
  return undefined;
}

export interface PathProblem {
  /** The entry at fault. */
  readonly path: string;
  readonly uid: number;
  /** Permission bits, octal, e.g. "1777". */
  readonly mode: string;
  readonly why: string;
}

export type SecureDir =
  | { readonly ok: true; readonly real: string; readonly st: Stats }
  | { readonly ok: false; readonly problem: PathProblem }
  | { readonly ok: false; readonly missing: string; readonly code: string };

const MAX_LINKS = 40;

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Resolve `dir` from / one component at a time. Each directory must be owned by root or
 * `caller` and not writable by group or others unless sticky; each symbolic link must be owned
 * by root or `caller` (it is then followed, and its target walked the same way).
 */
export async function resolveSecureDirectory(dir: string, caller: number): Promise<SecureDir> {
  const pending = path.resolve(dir).split('/').filter((c) => c !== '');
  let real = '/';
  let links = 0;
  let st = await lstat('/');
  const check = (p: string, s: Stats, symlink: boolean): PathProblem | undefined => {
    const why = replaceableBy({ uid: s.uid, mode: s.mode, symlink }, caller);
    return why === undefined ? undefined : { path: p, uid: s.uid, mode: mode(s), why };
  };
  const rootProblem = check('/', st, false);
  if (rootProblem) return { ok: false, problem: rootProblem };
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '.') continue;
    if (c === '..') {
      real = path.dirname(real);
      st = await lstat(real);
      continue;
    }
    const next = path.join(real, c);
    try {
      st = await lstat(next);
    } catch (e: unknown) {
      return { ok: false, missing: next, code: (e as NodeJS.ErrnoException).code ?? 'error' };
    }
    const symlink = st.isSymbolicLink();
    const problem = check(next, st, symlink);
    if (problem) return { ok: false, problem };
    if (symlink) {
      if (++links > MAX_LINKS) return { ok: false, missing: next, code: 'ELOOP' };
      const target = await readlink(next);
      if (target.startsWith('/')) real = '/';
      pending.unshift(...target.split('/').filter((x) => x !== ''));
      continue;
    }
    if (!st.isDirectory()) return { ok: false, missing: next, code: 'ENOTDIR' };
    real = next;
  }
  return { ok: true, real, st };
}

/** One line naming the culprit: "/srv/out is owned by uid 1000 (mode 0777)". */
export function describeProblem(p: PathProblem): string {
  return `${p.path} is ${p.why} (uid ${p.uid}, mode ${p.mode})`;
}
