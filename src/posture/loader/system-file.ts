/**
 * Whether a library or the loader is a system file the sandbox sees as the host does (see
 * order.ts): synchronous walks with lstat from /, because they run on the path of every job.
 */
import { lstatSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { replaceableBy } from '../../util/strict-modes.js';

/** Pure: a name the loader's --preload list can carry as it is (it splits on spaces and colons, and expands $LIB, $PLATFORM, $ORIGIN). */
export function preloadableName(name: string): boolean {
  return path.isAbsolute(name) && path.normalize(name) === name && !/[\s:$]/.test(name) && /\.so(\.\d+)*$/.test(name);
}

/** Where a name resolves inside the sandbox, which has only /usr (bound) and /lib, /lib64 as links to it (bwrap.ts). */
export function sandboxView(name: string): string | undefined {
  if (name.startsWith('/usr/')) return name;
  if (name.startsWith('/lib/')) return `/usr${name}`;
  if (name.startsWith('/lib64/')) return `/usr${name}`;
  return undefined;
}

/**
 * Why `name` is not a system file the sandbox sees as the host does: every directory on the way
 * to it, through every link, only root can change (ssh's StrictModes with root as the only owner;
 * strict-modes.ts); it is a root-owned regular file not writable by group or others; and it
 * resolves on the host to the file it names inside the sandbox (under /usr). Synchronous: a few
 * lstat calls, on the path of every job. `verified` remembers the directories already walked.
 */
export function systemFileProblem(name: string, verified: Map<string, Walked>): string | undefined {
  try {
    const inside = sandboxView(name);
    if (inside === undefined) return `${name} is not under /usr, /lib or /lib64`;
    const walked = walkRootOnly(name, verified);
    if ('problem' in walked) return walked.problem;
    const { real, st } = walked;
    if (!st.isFile()) return `${real} is not a regular file`;
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) return `${real} is owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`;
    if (!real.startsWith('/usr/') || realpathSync.native(inside) !== real) return `${name} is not the file the sandbox sees at ${inside}`;
    return undefined;
  } catch (e) {
    return `${name}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

export const MAX_LINKS = 40;

export type Walked = { readonly real: string } | { readonly problem: string };

function replaceable(p: string, st: Stats, symlink: boolean): string | undefined {
  const w = replaceableBy({ uid: st.uid, mode: st.mode, symlink }, 0);
  return w === undefined ? undefined : `${p} is ${w}`;
}

/**
 * Resolve the directory `dir` from / one component at a time, following links, refusing any
 * entry someone but root could replace. Remembered by name in `memo`: the libraries of one
 * directory cost an lstat or two each.
 */
function rootOnlyDirectory(dir: string, memo: Map<string, Walked>): Walked {
  const seen = memo.get(dir);
  if (seen) return seen;
  const pending = dir.split('/').filter((c) => c !== '' && c !== '.');
  let real = '/';
  let links = 0;
  let result: Walked | undefined;
  const root = replaceable('/', lstatSync('/'), false);
  if (root) result = { problem: root };
  while (result === undefined && pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '..') {
      real = path.dirname(real);
      continue;
    }
    const next = path.join(real, c);
    const st = lstatSync(next);
    const symlink = st.isSymbolicLink();
    const problem = replaceable(next, st, symlink);
    if (problem) result = { problem };
    else if (symlink) {
      if (++links > MAX_LINKS) result = { problem: `${dir}: too many links` };
      const target = readlinkSync(next);
      if (target.startsWith('/')) real = '/';
      pending.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
    } else if (!st.isDirectory()) result = { problem: `${next} is not a directory` };
    else real = next;
  }
  const out = result ?? { real };
  memo.set(dir, out);
  return out;
}

/** Resolve the file `name` the same way: its directory, then its last component and any link it is. */
function walkRootOnly(name: string, memo: Map<string, Walked>): { real: string; st: Stats } | { problem: string } {
  for (let links = 0; links <= MAX_LINKS; links++) {
    const dir = rootOnlyDirectory(path.dirname(name), memo);
    if ('problem' in dir) return dir;
    const next = path.join(dir.real, path.basename(name));
    const st = lstatSync(next);
    const symlink = st.isSymbolicLink();
    const problem = replaceable(next, st, symlink);
    if (problem) return { problem };
    if (!symlink) return { real: next, st };
    const target = readlinkSync(next);
    // dir.real has no links, so a relative target's ".." is plain arithmetic on it.
    name = target.startsWith('/') ? target : path.join(dir.real, target);
  }
  return { problem: `${name}: too many links` };
}
