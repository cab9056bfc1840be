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
import { constants, realpathSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { monotonicMs } from '../../util/clock.js';
import { exec } from '../../util/exec.js';
import { elfDynamicSymbols, elfInterpreter, type DynamicSymbols } from './elf.js';
import { busiestDefiners, compareOrders, inOrder, parseLoadList, referencedNames } from './search-order.js';
import { preloadableName, systemFileProblem, type Walked } from './system-file.js';
import { ABSENT, LD_SO_CACHE, LD_SO_PRELOAD, LOADER_ORDER_CACHE_FILE, identities, identity, readEntries, statOf, stillSystemFiles, unchanged, watchedFor, writeEntry } from './cache.js';
import type { LoaderStart } from '../../sandbox/supervise.js';

export { LOADER_ORDER_CACHE_FILE } from './cache.js';
export { preloadableName } from './system-file.js';

/**
 * How ffprobe is started: by its loader (`path`, its real path, where the sandbox runs
 * it; `fd`, the descriptor checked), with `preload` first: libraries it loads anyway, in order.
 */
export type LoaderOrder = LoaderStart;

export type LoaderOrderResult =
  | { readonly ok: true; readonly order: LoaderOrder; readonly handle: FileHandle; readonly cached: boolean }
  | { readonly ok: false; readonly reason: string };

/** The first guess: this many of the busiest definers. */
const FIRST_GUESS = 12;
/** Rounds of the check before giving up. */
const MAX_ROUNDS = 5;
/** Each `ld.so --list` (it maps the libraries and prints one line each: about 30 ms). */
const RUN_TIMEOUT_MS = 5_000;
/** The whole search, past which no order is used (and none is cached: the next job tries again). */
const SEARCH_BUDGET_MS = 10_000;
const LIST_MAX_BYTES = 1024 * 1024;
/** Most libraries preloaded. */
const MAX_PRELOAD = 48;
/** How the loader is run (its checked descriptor), and so how it lists itself; the program is the next descriptor. */
const SELF_FD_PATH = '/proc/self/fd/3';
const PROGRAM_FD_PATH = '/proc/self/fd/4';

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
