/**
 * A faster start for the sandboxed ffprobe (the input's probe, on the path of every job), proven
 * not to change what it runs. ffmpeg itself starts as it always did (posture/tools.ts says why).
 *
 * Debian's ffprobe loads about 215 shared libraries, and before main() the dynamic loader binds
 * about 43,000 symbol references, each found by searching the libraries in order: libc, which
 * defines most of them, is searched after the ten libav* libraries and their dependencies.
 * Measured with perf, 60 % of a bare `ffprobe -version` is that search (do_lookup_x). Asking the
 * loader to load the busiest definers first (`ld.so --preload`, which puts them right after the
 * program in the search order) cut ffprobe's start by 20–45 ms here.
 *
 * Moving a library forward changes the program only if it defines a symbol that an object it
 * now comes before also defines: a reference to that symbol could then be bound to the other
 * definition. The rule (search-order.ts): for every symbol name an object refers to, the objects
 * that define it keep their relative order, so every first match (the loader's rule, whatever
 * the version asked for) is the same match, at the start and for lazy bindings later. So:
 * - the loader lists the objects it loads, in its search order (`ld.so --list`: it maps them as
 *   for a start and runs nothing), once as the program is, and once with the preload;
 * - every object's dynamic symbol table is read from its file (elf.ts);
 * - the first guess is the objects most references are bound to; where another definer of one
 *   of their symbols falls behind them, it is preloaded too, ahead of them, and the loader lists
 *   again; after a few rounds without agreement, no order is used. The two lists must hold the
 *   same objects, and the preloaded ones first, as asked.
 * The test suite checks the result against the loader's own account of every binding (LD_DEBUG).
 *
 * Trust. The preloaded objects are libraries the program loads anyway (the search only picks from
 * the loader's list), named as the loader named them; before an order is kept each must be a
 * root-owned file not writable by group or others, reached through directories and links only
 * root can change, that resolves on the host to the file the sandbox sees (under /usr). On every
 * later use the same stat calls that show nothing changed show that again (stillSystemFiles). The loader is
 * checked the same way and bound into the sandbox from the descriptor that was checked; the
 * program is listed and read through posture's descriptor. The cache (loader-order.json in the
 * state directory) is read only when this user owns it and no one else can write it, and an entry
 * whose preload is not among its own recorded objects is searched again.
 *
 * Staleness. An entry is used only while ld.so.cache, /etc/ld.so.preload (present or not), the
 * preloaded libraries and every directory the libraries are in or reached through have the
 * identity (inode, size, times) they had when it was found (watchedFor says what that misses).
 * Any change means searching again (about half a second, once). With /etc/ld.so.preload present
 * no order is used: the sandbox does not read it, so the host's list would not be the sandbox's.
 *
 * What the rule does not cover, so it is stated here: lookups that are not relocations (dlsym by
 * name), and objects loaded later (dlopen: iconv's gconv modules, say), whose references were not
 * in the lists; and the order in which the loader relocates and initialises unrelated libraries,
 * which follows the new order. None of that changes which definition a relocation gets. The
 * tables are found through the section headers, as the loader does not (it reads PT_DYNAMIC):
 * a library whose headers do not match its dynamic segment would be misjudged. Every directory
 * the libraries are in must be root's and closed to others (stillSystemFiles), so such a library
 * can only be root's doing.
 *
 * Any failure means the program starts as it always did, and a start whose loader fails (exit 127,
 * or its "ERROR: ld.so" line: a preloaded library gone since the check) is run again without it
 * (supervise.ts). Not used with the gpu grant: hardware drivers are loaded later (dlopen). Seen
 * from the host, the probe's process is named after the loader (`ld-linux-x86-64`), with
 * ffprobe's path in its command line.
 */
import { constants, lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, realpath, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { monotonicMs } from '../../util/clock.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { exec } from '../../util/exec.js';
import { replaceableBy } from '../../util/strict-modes.js';
import { elfDynamicSymbols, elfInterpreter, type DynamicSymbols } from './elf.js';
import { busiestDefiners, compareOrders, inOrder, parseLoadList, referencedNames } from './search-order.js';
import type { LoaderStart } from '../../sandbox/supervise.js';

/**
 * How ffprobe is started: by its loader (`path`, its real path, where the sandbox runs
 * it; `fd`, the descriptor checked), with `preload` first: libraries it loads anyway, in order.
 */
export type LoaderOrder = LoaderStart;

export type LoaderOrderResult =
  | { readonly ok: true; readonly order: LoaderOrder; readonly handle: FileHandle; readonly cached: boolean }
  | { readonly ok: false; readonly reason: string };

export const LOADER_ORDER_CACHE_FILE = 'loader-order.json';
const CACHE_VERSION = 2;
/** The first guess: this many of the busiest definers. */
const FIRST_GUESS = 12;
/** Rounds of the check before giving up. */
const MAX_ROUNDS = 5;
/** Each `ld.so --list` (it maps the libraries and prints one line each: about 30 ms). */
const RUN_TIMEOUT_MS = 5_000;
/** The whole search, past which no order is used (and none is cached: the next job tries again). */
const SEARCH_BUDGET_MS = 10_000;
const LIST_MAX_BYTES = 1024 * 1024;
/** Most libraries preloaded, and most bytes of the cache file read. */
const MAX_PRELOAD = 48;
const MAX_CACHE_BYTES = 1024 * 1024;
/** How the loader is run (its checked descriptor), and so how it lists itself; the program is the next descriptor. */
const SELF_FD_PATH = '/proc/self/fd/3';
const PROGRAM_FD_PATH = '/proc/self/fd/4';
const LD_SO_CACHE = '/etc/ld.so.cache';
/** Libraries every program on the host loads first; the sandbox does not bind the file, so an order found with it would be wrong inside. */
const LD_SO_PRELOAD = '/etc/ld.so.preload';
/** The identity recorded for a file that did not exist (its appearance is a change too). */
const ABSENT = 'absent';

interface CacheEntry {
  readonly preload: readonly string[];
  /** What the entry depends on (watchedFor), by path: its identity when the order was checked. */
  readonly objects: Readonly<Record<string, string>>;
}

function identity(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Pure: a name the loader's --preload list can carry as it is (it splits on spaces and colons, and expands $LIB, $PLATFORM, $ORIGIN). */
export function preloadableName(name: string): boolean {
  return path.isAbsolute(name) && path.normalize(name) === name && !/[\s:$]/.test(name) && /\.so(\.\d+)*$/.test(name);
}

/** Where a name resolves inside the sandbox, which has only /usr (bound) and /lib, /lib64 as links to it (bwrap.ts). */
function sandboxView(name: string): string | undefined {
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
function systemFileProblem(name: string, verified: Map<string, Walked>): string | undefined {
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

const MAX_LINKS = 40;

type Walked = { readonly real: string } | { readonly problem: string };

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

/** The loader `binary` names, checked and opened (the caller closes the handle). */
async function openLoader(binaryHandle: FileHandle): Promise<{ real: string; handle: FileHandle } | { problem: string }> {
  const head = Buffer.alloc(4096);
  const { bytesRead } = await binaryHandle.read(head, 0, head.length, 0);
  const interp = elfInterpreter(head.subarray(0, bytesRead));
  if (!interp) return { problem: 'the binary names no program interpreter' };
  const problem = systemFileProblem(interp, new Map());
  if (problem) return { problem };
  const real = realpathSync.native(interp);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0 && (st.mode & 0o111) !== 0) return { real, handle };
  } catch {
    /* refused below */
  }
  await handle.close();
  return { problem: `${real} changed while it was checked` };
}

/** The dynamic symbols of one object, read from its file (undefined when they cannot be read). */
async function symbolsOf(object: string): Promise<DynamicSymbols | undefined> {
  const h = await open(object, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!h) return undefined;
  try {
    return await symbolsFrom(h);
  } finally {
    await h.close();
  }
}

async function symbolsFrom(h: FileHandle): Promise<DynamicSymbols | undefined> {
  try {
    const st = await h.stat();
    if (!st.isFile()) return undefined;
    return await elfDynamicSymbols(async (position, length) => {
      // Never more than the file holds, whatever its headers claim.
      const buf = Buffer.alloc(Math.max(0, Math.min(length, st.size - position)));
      const { bytesRead } = await h.read(buf, 0, buf.length, position);
      return buf.subarray(0, bytesRead);
    });
  } catch {
    return undefined;
  }
}

/** The objects the loader loads for the program, in its search order, with `preload` first; `timeoutMs` bounds the listing. */
type Lister = (preload: readonly string[], timeoutMs: number) => Promise<string[] | { readonly problem: string }>;

/** `ld.so --list`: the loader maps every object as for a start, prints them, and runs nothing. */
function lister(loaderFd: number, binaryFd: number, runAs: { uid: number; gid: number } | undefined): Lister {
  return async (preload, timeoutMs) => {
    // The program as posture checked it (its descriptor), so the list is of the inode that runs.
    const args = ['--list', ...(preload.length > 0 ? ['--preload', preload.join(':')] : []), PROGRAM_FD_PATH];
    const r = await exec(SELF_FD_PATH, args, { timeoutMs: Math.max(100, Math.min(RUN_TIMEOUT_MS, timeoutMs)), maxBuffer: LIST_MAX_BYTES, env: { PATH: '/usr/bin', LC_ALL: 'C' }, extraFds: [loaderFd, binaryFd], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
    if (r.spawnFailed || r.timedOut || r.truncated || r.exitCode !== 0) return { problem: `ld.so --list: ${r.spawnError ?? (r.timedOut ? 'timed out' : r.truncated ? 'too much output' : `exit ${r.exitCode ?? r.signal}`)}` };
    // A preload the loader could not use is "ignored" with a line on stderr: not the order asked for.
    if (r.stderr.trim() !== '') return { problem: `ld.so --list: ${r.stderr.trim().split('\n')[0]?.slice(0, 200) ?? ''}` };
    return parseLoadList(r.stdout);
  };
}

type Found = {
  readonly objects: readonly string[];
  /** What the search depended on, as it was when the first listing was made (compared again at the end). */
  readonly early?: Readonly<Record<string, string>>;
  readonly transient?: boolean;
} & ({ readonly preload: string[] } | { readonly problem: string });

/** Find an order in which every symbol's definers keep their relative order; the list, or why there is none. */
async function findOrder(list: Lister, binaryHandle: FileHandle, loader: { readonly real: string; readonly handle: FileHandle }): Promise<Found> {
  const deadline = monotonicMs() + SEARCH_BUDGET_MS;
  const left = (): number => deadline - monotonicMs();
  const loaderFiles = identities([LD_SO_CACHE, LD_SO_PRELOAD]);
  if (loaderFiles?.[LD_SO_PRELOAD] !== ABSENT) return { problem: `${LD_SO_PRELOAD} exists: the sandbox does not read it, so the host's order is not the sandbox's`, objects: [] };
  const program = await symbolsFrom(binaryHandle);
  // The program's references count like any object's: without them nothing can be shown.
  if (!program) return { problem: 'the program\'s own symbol table cannot be read', objects: [] };
  // Where a program with its own search path looks depends on where it runs ($ORIGIN): not shown here.
  if (program.searchPath) return { problem: 'the program names its own library search path (RPATH/RUNPATH)', objects: [] };
  const before = await list([], left());
  if ('problem' in before) return { problem: before.problem, objects: [], transient: before.problem.endsWith('timed out') };
  // The loader lists itself by the path it was run as (/proc/self/fd/3): its file is loader.real.
  const reals = await Promise.all(before.map((o) => (o === SELF_FD_PATH ? loader.real : realpath(o).catch(() => o))));
  const loaderNames = new Set(before.filter((_, i) => reals[i] === loader.real));
  const objects = before.filter((o) => o !== SELF_FD_PATH);
  if (objects.length === 0) return { problem: 'the loader listed no library', objects };
  const early = identities(watchedFor(objects, []));
  if (!early || !loaderFiles || Object.entries(loaderFiles).some(([k, v]) => early[k] !== v)) return { problem: 'the libraries changed while they were listed', objects, transient: true };
  const table = new Map<string, DynamicSymbols | undefined>();
  await Promise.all(before.map(async (o) => table.set(o, o === SELF_FD_PATH ? await symbolsFrom(loader.handle) : await symbolsOf(o))));
  table.set(PROGRAM_FD_PATH, program);
  const symbols = (o: string): DynamicSymbols | undefined => table.get(o);
  const chosen = busiestDefiners(PROGRAM_FD_PATH, before, symbols, FIRST_GUESS, loaderNames);
  const referenced = referencedNames([PROGRAM_FD_PATH, ...before], symbols);
  for (let round = 0; round < MAX_ROUNDS && chosen.size > 0; round++) {
    if (left() <= 0) return { problem: 'the search for an order ran out of time', objects, transient: true };
    const preload = inOrder(chosen, before);
    if (preload.length > MAX_PRELOAD) break;
    const after = await list(preload, left());
    if ('problem' in after) return { problem: after.problem, objects, transient: after.problem.endsWith('timed out') };
    if (preload.some((p, i) => after[i] !== p)) return { problem: 'the loader did not load the preloaded libraries first', objects, early };
    const check = compareOrders(before, after, symbols, referenced);
    if (check.same) return { preload, objects, early };
    if ('problem' in check) return { problem: check.problem, objects, early };
    const grew = chosen.size;
    for (const o of check.overtaken) {
      if (loaderNames.has(o)) return { problem: 'a library would take a symbol from the loader itself', objects, early };
      chosen.add(o);
    }
    if (chosen.size === grew) break;
  }
  return { problem: 'no preload order kept every symbol where it was', objects, early };
}

/**
 * The cache's entries, from a file only this user can have written (a regular file it owns, not
 * writable by group or others, not reached through a link); anything else reads as empty.
 */
async function readEntries(file: string): Promise<Record<string, CacheEntry>> {
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

async function writeEntry(file: string, key: string, entry: CacheEntry): Promise<void> {
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
function statOf(name: string): Stats | null | undefined {
  try {
    return statSync(name, { throwIfNoEntry: false }) ?? null;
  } catch {
    return undefined;
  }
}

function identityOf(name: string): string | undefined {
  const st = statOf(name);
  return st === undefined ? undefined : st === null ? ABSENT : identity(st);
}

/** The stat of everything the entry depends on, when all of it still is what it was when the order was checked. */
function unchanged(entry: CacheEntry): Map<string, Stats | null> | undefined {
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
function stillSystemFiles(entry: CacheEntry, seen: ReadonlyMap<string, Stats | null>): string | undefined {
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
function watchedFor(objects: readonly string[], preload: readonly string[]): string[] {
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
function identities(names: readonly string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const n of names) {
    const id = identityOf(n);
    if (id === undefined) return undefined;
    out[n] = id;
  }
  return out;
}

/**
 * The load order for one posture-checked binary (`binaryHandle` is its descriptor, `binaryKey`
 * what identifies it: path, inode, times, sha256), from the cache in `stateDir` or found now.
 */
export async function loaderOrderFor(binaryHandle: FileHandle, binaryKey: string, opts: { readonly stateDir?: string; readonly runAs?: { uid: number; gid: number } }): Promise<LoaderOrderResult> {
  const loader = await openLoader(binaryHandle).catch((e: unknown) => ({ problem: `the loader cannot be checked: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }));
  if ('problem' in loader) return { ok: false, reason: loader.problem };
  const fail = async (reason: string): Promise<LoaderOrderResult> => {
    await loader.handle.close();
    return { ok: false, reason };
  };
  try {
    const key = `${binaryKey}|${loader.real}|${identity(await loader.handle.stat())}`;
    const cacheFile = opts.stateDir ? path.join(opts.stateDir, LOADER_ORDER_CACHE_FILE) : undefined;
    const cached = cacheFile ? (await readEntries(cacheFile))[key] : undefined;
    let preload: readonly string[];
    let fromCache = false;
    const seen = cached ? unchanged(cached) : undefined;
    if (cached && seen) {
      if (cached.preload.length === 0) return await fail('no preload order kept every symbol where it was (cached)');
      if (cached.preload.length > MAX_PRELOAD) return await fail(`${cached.preload.length} libraries to preload: more than ${MAX_PRELOAD}`);
      const problem = stillSystemFiles(cached, seen);
      if (problem) return await fail(problem);
      preload = cached.preload;
      fromCache = true;
    } else {
      const found = await findOrder(lister(loader.handle.fd, binaryHandle.fd, opts.runAs), binaryHandle, loader);
      // Every library to preload is walked from / before the order is kept (or cached).
      const dirs = new Map<string, Walked>();
      const untrusted = 'preload' in found ? found.preload.map((p) => (preloadableName(p) ? systemFileProblem(p, dirs) : `${p} cannot be preloaded`)).find((x) => x !== undefined) : undefined;
      preload = 'preload' in found && untrusted === undefined ? found.preload : [];
      const watched = watchedFor(found.objects, preload);
      const objects = identities(watched);
      // What changed during the search (an upgrade under way) makes its result worthless: not cached.
      const moved = !objects || Object.entries(found.early ?? {}).some(([k, v]) => objects[k] !== undefined && objects[k] !== v);
      const entry = objects ? { preload, objects } : undefined;
      // The same checks a cache hit makes, on the same stats, so the first job and the next agree.
      const held = entry && preload.length > 0 ? stillSystemFiles(entry, new Map(watched.map((n) => [n, statOf(n) ?? null]))) : undefined;
      // No order is cached too (unless the search ran out of time or things moved), so it is not tried per job.
      if (cacheFile && entry && !found.transient && !moved) await writeEntry(cacheFile, key, held === undefined ? entry : { preload: [], objects: entry.objects });
      if ('problem' in found) return await fail(found.problem);
      if (untrusted !== undefined) return await fail(untrusted);
      if (moved) return await fail('the libraries changed during the search');
      if (held !== undefined) return await fail(held);
      if (preload.length === 0) return await fail('no preload order kept every symbol where it was');
    }
    return { ok: true, order: { path: loader.real, fd: loader.handle.fd, preload }, handle: loader.handle, cached: fromCache };
  } catch (e) {
    return fail(`the load order cannot be checked: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
