/**
 * A faster start for the sandboxed ffprobe (the input's probe, on the path of every job), proven
 * not to change what it runs. ffmpeg itself starts as it always did (posture/tools.ts says why).
 *
 * Debian's ffprobe loads about 215 shared libraries, and before main() the dynamic loader binds
 * about 43,000 symbol references, each found by searching the libraries in order: libc, which
 * defines most of them, is searched after the ten libav* libraries and their dependencies.
 * Measured with perf, 60 % of a bare `ffprobe -version` is that search (do_lookup_x). Asking the
 * loader to load the busiest definers first (`ld.so --preload`, which puts them right after the
 * program in the search order) cut ffprobe's start by 30–45 ms here.
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
 * The preloaded objects are libraries the program loads anyway, named as the loader named them;
 * each must be a root-owned file under /usr (what the sandbox binds) in root-owned directories,
 * checked again from the cache on every use. The loader is checked the same way and bound into
 * the sandbox from the descriptor that was checked. The result is cached with the identity
 * (inode, size, times) of /etc/ld.so.cache, of every directory the program's libraries are in and
 * of the preloaded ones (watchedFor): any change means checking again (about half a second, once). Any failure means the program starts
 * as it always did. Not used with the gpu grant: hardware drivers are loaded later (dlopen),
 * outside what this check saw. Seen from the host, the probe's process is then named after the
 * loader (`ld-linux-x86-64`), with ffprobe's path in its command line.
 */
import { constants, lstatSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, readFile, realpath, rename, writeFile, type FileHandle } from 'node:fs/promises';
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
/** Each `ld.so --list` (it maps the libraries and prints one line each). */
const RUN_TIMEOUT_MS = 20_000;
const LIST_MAX_BYTES = 1024 * 1024;
/** How the loader is run (its checked descriptor), and so how it lists itself. */
const SELF_FD_PATH = '/proc/self/fd/3';
const LD_SO_CACHE = '/etc/ld.so.cache';

interface CacheEntry {
  readonly preload: readonly string[];
  /** What the entry depends on (watchedFor), by path: its identity when the order was checked. */
  readonly objects: Readonly<Record<string, string>>;
}

function identity(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Pure: a name the loader's --preload list can carry (it splits on spaces and colons). */
export function preloadableName(name: string): boolean {
  return path.isAbsolute(name) && path.normalize(name) === name && !/[\s:]/.test(name) && /\.so(\.\d+)*$/.test(name);
}

/** Where a name resolves inside the sandbox, which has only /usr (bound) and /lib, /lib64 as links to it (bwrap.ts). */
function sandboxView(name: string): string | undefined {
  if (name.startsWith('/usr/')) return name;
  if (name.startsWith('/lib/')) return `/usr${name}`;
  if (name.startsWith('/lib64/')) return `/usr${name}`;
  return undefined;
}

/**
 * Why `name` is not a system file the sandbox sees as the host does: it must resolve on the host
 * to the file it names inside the sandbox (under /usr), a root-owned file not writable by group
 * or others, in directories only root can change (ssh's StrictModes with root as the only owner;
 * strict-modes.ts). Synchronous: a few stat calls, on the path of every job. `dirs` remembers
 * the directories already walked.
 */
function systemFileProblem(name: string, dirs: Map<string, string | undefined>): string | undefined {
  try {
    const inside = sandboxView(name);
    if (inside === undefined) return `${name} is not under /usr, /lib or /lib64`;
    const real = realpathSync.native(name);
    if (real !== realpathSync.native(inside)) return `${name} is not the file the sandbox sees at ${inside}`;
    if (!real.startsWith('/usr/')) return `${name} resolves outside /usr`;
    const dir = rootOnlyDirectory(path.dirname(real), dirs);
    if (dir) return dir;
    const st = lstatSync(real);
    if (!st.isFile()) return `${real} is not a regular file`;
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) return `${real} is owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`;
    return undefined;
  } catch (e) {
    return `${name}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

/** `real` (a resolved directory) and every directory above it: why someone but root could change one, or undefined. */
function rootOnlyDirectory(real: string, memo: Map<string, string | undefined>): string | undefined {
  if (memo.has(real)) return memo.get(real);
  let problem: string | undefined;
  const parent = path.dirname(real);
  if (parent !== real) problem = rootOnlyDirectory(parent, memo);
  if (problem === undefined) {
    const st = lstatSync(real);
    const why = st.isDirectory() ? replaceableBy({ uid: st.uid, mode: st.mode, symlink: false }, 0) : 'not a directory';
    if (why !== undefined) problem = `${real} is ${why}`;
  }
  memo.set(real, problem);
  return problem;
}

/** The loader `binary` names, checked and opened (the caller closes the handle). */
async function openLoader(binaryHandle: FileHandle): Promise<{ real: string; handle: FileHandle } | { problem: string }> {
  const head = Buffer.alloc(4096);
  const { bytesRead } = await binaryHandle.read(head, 0, head.length, 0);
  const interp = elfInterpreter(head.subarray(0, bytesRead));
  if (!interp) return { problem: 'the binary names no program interpreter' };
  const problem = systemFileProblem(interp, new Map());
  if (problem) return { problem };
  const real = await realpath(interp);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const st = await handle.stat();
  if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0 || (st.mode & 0o111) === 0) {
    await handle.close();
    return { problem: `${real} changed while it was checked` };
  }
  return { real, handle };
}

/** The dynamic symbols of one object, read from its file (undefined when they cannot be read). */
async function symbolsOf(object: string): Promise<DynamicSymbols | undefined> {
  const h = await open(object, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!h) return undefined;
  try {
    if (!(await h.stat()).isFile()) return undefined;
    return await elfDynamicSymbols(async (position, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await h.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    });
  } catch {
    return undefined;
  } finally {
    await h.close();
  }
}

/** The objects the loader loads for the program, in its search order, with `preload` first. */
type Lister = (preload: readonly string[]) => Promise<string[] | { readonly problem: string }>;

/** `ld.so --list`: the loader maps every object as for a start, prints them, and runs nothing. */
function lister(loaderFd: number, binary: string, runAs: { uid: number; gid: number } | undefined): Lister {
  return async (preload) => {
    const args = ['--list', ...(preload.length > 0 ? ['--preload', preload.join(':')] : []), binary];
    const r = await exec('/proc/self/fd/3', args, { timeoutMs: RUN_TIMEOUT_MS, maxBuffer: LIST_MAX_BYTES, env: { PATH: '/usr/bin', LC_ALL: 'C' }, extraFds: [loaderFd], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
    if (r.spawnFailed || r.timedOut || r.truncated || r.exitCode !== 0) return { problem: `ld.so --list: ${r.spawnError ?? (r.timedOut ? 'timed out' : r.truncated ? 'too much output' : `exit ${r.exitCode ?? r.signal}`)}` };
    // A preload the loader could not use is "ignored" with a line on stderr: not the order asked for.
    if (r.stderr.trim() !== '') return { problem: `ld.so --list: ${r.stderr.trim().split('\n')[0]?.slice(0, 200) ?? ''}` };
    return parseLoadList(r.stdout);
  };
}

type Found = { readonly objects: readonly string[]; readonly transient?: boolean } & ({ readonly preload: string[] } | { readonly problem: string });

/** Find an order in which every symbol's definers keep their relative order; the list, or why there is none. */
async function findOrder(list: Lister, binary: string, loaderReal: string): Promise<Found> {
  const before = await list([]);
  if ('problem' in before) return { problem: before.problem, objects: [], transient: before.problem.endsWith('timed out') };
  // The loader lists itself by the path it was run as (/proc/self/fd/3): its file is loaderReal.
  const fileOf = (o: string): string => (o === SELF_FD_PATH ? loaderReal : o);
  const reals = await Promise.all(before.map((o) => realpath(fileOf(o)).catch(() => o)));
  const loaderNames = new Set(before.filter((_, i) => reals[i] === loaderReal));
  const objects = before.filter((o) => o !== SELF_FD_PATH);
  if (objects.length === 0) return { problem: 'the loader listed no library', objects };
  const table = new Map<string, DynamicSymbols | undefined>();
  await Promise.all([binary, ...before].map(async (o) => table.set(o, await symbolsOf(fileOf(o)))));
  const symbols = (o: string): DynamicSymbols | undefined => table.get(o);
  const chosen = busiestDefiners(binary, before, symbols, FIRST_GUESS, loaderNames);
  const referenced = referencedNames([binary, ...before], symbols);
  for (let round = 0; round < MAX_ROUNDS && chosen.size > 0; round++) {
    const preload = inOrder(chosen, before);
    const after = await list(preload);
    if ('problem' in after) return { problem: after.problem, objects, transient: after.problem.endsWith('timed out') };
    if (preload.some((p, i) => after[i] !== p)) return { problem: 'the loader did not load the preloaded libraries first', objects };
    const check = compareOrders(before, after, symbols, referenced);
    if (check.same) return { preload, objects };
    if ('problem' in check) return { problem: check.problem, objects };
    const grew = chosen.size;
    for (const o of check.overtaken) {
      if (loaderNames.has(o)) return { problem: 'a library would take a symbol from the loader itself', objects };
      chosen.add(o);
    }
    if (chosen.size === grew) break;
  }
  return { problem: 'no preload order kept every symbol where it was', objects };
}

async function readEntries(file: string): Promise<Record<string, CacheEntry>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown; entries?: unknown };
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

/** Whether every object still is what it was when the order was checked (an entry of none may name none). */
function unchanged(entry: CacheEntry): boolean {
  const objects = entry.objects;
  const names = Object.keys(objects);
  if (names.length === 0) return entry.preload.length === 0;
  for (const n of names) {
    try {
      if (identity(statSync(n)) !== objects[n]) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * What the cache entry is checked against on every use: ld.so.cache, each directory the program's
 * libraries are in, and the preloaded libraries themselves: a few stat calls, where statting all
 * 215 objects cost about 2 ms a job. A package manager replaces a library by renaming a new file
 * into its directory, which changes the directory; only a library overwritten in place, keeping
 * its inode, goes unseen (and then the worst is a probe that fails inside the sandbox).
 */
function watchedFor(objects: readonly string[], preload: readonly string[]): string[] {
  return [LD_SO_CACHE, ...new Set(objects.map((o) => path.dirname(o))), ...preload];
}

/** The identity of each object; one that cannot be read is left out only when `optional` says so. */
function identities(names: readonly string[], optional: ReadonlySet<string>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const n of names) {
    try {
      out[n] = identity(statSync(n));
    } catch {
      if (!optional.has(n)) return undefined;
    }
  }
  return out;
}

/**
 * The load order for one posture-checked binary (`handle` is its descriptor, `binaryKey` what
 * identifies it: path, inode, times, sha256), from the cache in `stateDir` or found now.
 */
export async function loaderOrderFor(binary: string, binaryHandle: FileHandle, binaryKey: string, opts: { readonly stateDir?: string; readonly runAs?: { uid: number; gid: number } }): Promise<LoaderOrderResult> {
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
    if (cached && unchanged(cached)) {
      preload = cached.preload;
      fromCache = true;
    } else {
      const found = await findOrder(lister(loader.handle.fd, binary, opts.runAs), binary, loader.real);
      preload = 'preload' in found ? found.preload : [];
      // No order is cached too (unless the check merely ran out of time), so it is not tried per job.
      const objects = identities(watchedFor(found.objects, preload), new Set([LD_SO_CACHE]));
      if (cacheFile && objects && !found.transient) await writeEntry(cacheFile, key, { preload, objects });
      if ('problem' in found) return await fail(found.problem);
    }
    if (preload.length === 0) return await fail('no preload order kept every symbol where it was');
    // The cache is a file the caller can write: every name is checked again, every time.
    const dirs = new Map<string, string | undefined>();
    for (const p of preload) {
      if (!preloadableName(p)) return await fail(`${p} cannot be preloaded`);
      const problem = systemFileProblem(p, dirs);
      if (problem) return await fail(problem);
    }
    return { ok: true, order: { path: loader.real, fd: loader.handle.fd, preload }, handle: loader.handle, cached: fromCache };
  } catch (e) {
    return fail(`the load order cannot be checked: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
