/**
 * The cache of load orders (loader-order.json in the state directory) and what an entry depends
 * on: what is checked on every use, and why that is enough (see order.ts).
 */
import { constants, lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { MAX_LINKS, preloadableName, sandboxView } from './system-file.js';

export const LOADER_ORDER_CACHE_FILE = 'loader-order.json';
const CACHE_VERSION = 2;
const MAX_CACHE_BYTES = 1024 * 1024;
export const LD_SO_CACHE = '/etc/ld.so.cache';
/** Libraries every program on the host loads first; the sandbox does not bind the file, so an order found with it would be wrong inside. */
export const LD_SO_PRELOAD = '/etc/ld.so.preload';
/** The identity recorded for a file that did not exist (its appearance is a change too). */
export const ABSENT = 'absent';

export interface CacheEntry {
  readonly preload: readonly string[];
  /** What the entry depends on (watchedFor), by path: its identity when the order was checked. */
  readonly objects: Readonly<Record<string, string>>;
}

export function identity(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * The cache's entries, from a file only this user can have written (a regular file it owns, not
 * writable by group or others, not reached through a link); anything else reads as empty.
 */
export async function readEntries(file: string): Promise<Record<string, CacheEntry>> {
  try {
    const h = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      const st = await h.stat();
      if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0 || st.size > MAX_CACHE_BYTES) return {};
      text = await h.readFile('utf8');
    } finally {
      await h.close();
    }
    const v = JSON.parse(text) as { version?: unknown; entries?: unknown };
    if (v.version !== CACHE_VERSION || typeof v.entries !== 'object' || v.entries === null) return {};
    const out: Record<string, CacheEntry> = {};
    for (const [k, e] of Object.entries(v.entries as Record<string, unknown>)) {
      const c = e as Partial<CacheEntry> | null;
      if (c && Array.isArray(c.preload) && c.preload.every((p) => typeof p === 'string') && typeof c.objects === 'object' && c.objects !== null) out[k] = c as CacheEntry;
    }
    return out;
  } catch {
    return {};
  }
}

export async function writeEntry(file: string, key: string, entry: CacheEntry): Promise<void> {
  try {
    const kept = Object.entries(await readEntries(file)).filter(([k]) => k !== key).slice(-3);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: CACHE_VERSION, entries: { ...Object.fromEntries(kept), [key]: entry } }), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    /* a cache that cannot be written only costs time */
  }
}

/** A file's stat (through its links: a switched alternative is another file), null when it does not exist; undefined when that cannot be told. */
export function statOf(name: string): Stats | null | undefined {
  try {
    return statSync(name, { throwIfNoEntry: false }) ?? null;
  } catch {
    return undefined;
  }
}

export function identityOf(name: string): string | undefined {
  const st = statOf(name);
  return st === undefined ? undefined : st === null ? ABSENT : identity(st);
}

/** The stat of everything the entry depends on, when all of it still is what it was when the order was checked. */
export function unchanged(entry: CacheEntry): Map<string, Stats | null> | undefined {
  const names = Object.keys(entry.objects);
  if (names.length === 0) return undefined;
  // A preload the entry does not itself depend on was not found by the search.
  if (entry.preload.some((p) => entry.objects[p] === undefined)) return undefined;
  const seen = new Map<string, Stats | null>();
  for (const n of names) {
    const st = statOf(n);
    if (st === undefined || (st === null ? ABSENT : identity(st)) !== entry.objects[n]) return undefined;
    seen.set(n, st);
  }
  return seen;
}

/**
 * On a cache hit, what the walk at the search (systemFileProblem) proved, checked again from the
 * stat calls `unchanged` just made: the same inodes with the same times (a chown or chmod changes
 * the ctime), each preloaded library still a root-owned file no one else may write, each watched
 * directory root's and closed to others. Run on a fresh order too, on fresh stats, so the first
 * job and the next agree. It does not show that a preload is one of the program's own libraries:
 * only the search does, and the cache file is trusted for that only because no one but this user
 * can have written it (readEntries).
 */
export function stillSystemFiles(entry: CacheEntry, seen: ReadonlyMap<string, Stats | null>): string | undefined {
  const preload = new Set(entry.preload);
  for (const [n, st] of seen) {
    if (n === LD_SO_CACHE || n === LD_SO_PRELOAD) continue;
    if (!st) return `${n} is gone`;
    if (preload.has(n) ? !st.isFile() : !st.isDirectory()) return `${n} is not a ${preload.has(n) ? 'regular file' : 'directory'}`;
    const writable = (st.mode & 0o022) !== 0 && (preload.has(n) || (st.mode & 0o1000) === 0);
    if (st.uid !== 0 || writable) return `${n} is owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}`;
  }
  for (const p of entry.preload) if (!preloadableName(p) || sandboxView(p) === undefined) return `${p} cannot be preloaded`;
  if (entry.objects[LD_SO_PRELOAD] !== ABSENT) return `${LD_SO_PRELOAD} exists`;
  return undefined;
}

/**
 * What the cache entry is checked against on every use: ld.so.cache and ld.so.preload (present or
 * not), the preloaded libraries, and every directory the program's libraries are in or are
 * reached through (a link in /etc/alternatives, say): about 30 stat calls, where all 215
 * libraries cost 2 ms (more before the code is warm) on the path of every job. A package manager
 * replaces a library, and update-alternatives a link, by renaming a new one into its directory,
 * which changes the directory. What goes unseen is a library overwritten in place (same inode, no
 * rename), which could then define a symbol the rule never saw it define.
 */
export function watchedFor(objects: readonly string[], preload: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const o of objects) {
    let name = o;
    for (let i = 0; i <= MAX_LINKS; i++) {
      dirs.add(path.dirname(name));
      const st = lstatSync(name, { throwIfNoEntry: false });
      if (!st?.isSymbolicLink()) break;
      const target = readlinkSync(name);
      name = target.startsWith('/') ? target : path.join(path.dirname(name), target);
    }
  }
  // And every directory above where they resolve: a chmod of /usr would be a change too.
  for (const d of [...dirs]) {
    let real: string;
    try {
      real = realpathSync.native(d);
    } catch {
      continue;
    }
    for (let up = real; !dirs.has(up); up = path.dirname(up)) dirs.add(up);
  }
  return [LD_SO_CACHE, LD_SO_PRELOAD, ...dirs, ...preload];
}

/** The identity of each file, or undefined when one cannot be told. */
export function identities(names: readonly string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const n of names) {
    const id = identityOf(n);
    if (id === undefined) return undefined;
    out[n] = id;
  }
  return out;
}
