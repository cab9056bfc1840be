/**
 * The private job directory beside the destination, and the sweep of the ones killed jobs left.
 *
 * A job directory has an unguessable name, is created exclusively (mode 0700, owned by the
 * caller) and is held, while its job lives, by an exclusive flock(2) on the directory itself:
 * the kernel drops it when the job dies, in whatever PID namespace or container on this host it
 * ran, so liveness is never read from a pid. It holds only what the job creates: the output
 * file (made here, then handed to the sandbox by descriptor and owned by the sandbox's uid) and
 * the provenance sidecar while it is written.
 *
 * The sweep (another user may write the output directory, if it is sticky) touches only
 * directories owned by the caller with exactly mode 0700, opened without following a link and
 * then only through that descriptor; it never recurses, and removes only the names a job
 * creates. A planted directory, a symlink swapped in mid-sweep, or a live job's directory (its
 * lock held) is left alone.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ZtError } from '../errors.js';
import { flockExclusive } from '../util/flock.js';
import { inTarget, type OutputTarget } from './destination.js';
import { openDirNoFollow } from '../util/open-dir.js';

export const JOB_DIR_PREFIX = '.zt-ffmpeg-job-';
/** The provenance statement while it is written (then linked or renamed into place). */
export const PROVENANCE_TMP = 'provenance.json';
const OUTPUT_PREFIX = 'output.';
const DIR_MODE = 0o700;

export interface JobDir {
  /** For messages only: every access goes through `handle`. */
  readonly path: string;
  /** The directory, flocked for as long as the job lives. */
  readonly handle: FileHandle;
  /** The output file the sandbox writes into: made here, exclusively. */
  readonly output: { readonly name: string; readonly handle: FileHandle; readonly dev: number; readonly ino: number };
}

/** A name inside the job directory, through its descriptor. */
export function inJobDir(j: JobDir, name: string): string {
  return `/proc/self/fd/${j.handle.fd}/${name}`;
}

function failed(t: OutputTarget, e: unknown): ZtError {
  return new ZtError('usage', `cannot create a job directory in ${t.dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { hint: 'the output directory must be writable' });
}

/**
 * Make, lock and fill the job directory. A sweep by a concurrent job may catch a new directory
 * before it is locked and remove it; that is seen (the directory is unlinked) and retried.
 */
export async function createJobDir(t: OutputTarget, sandbox: { uid: number; gid: number; dropped: boolean }, outputName: string): Promise<JobDir> {
  if (!isJobEntry(outputName) || outputName === PROVENANCE_TMP) throw new Error(`internal error: ${outputName} is not a job entry name`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const name = `${JOB_DIR_PREFIX}${randomBytes(16).toString('hex')}`;
    try {
      await mkdir(inTarget(t, name), { mode: DIR_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw failed(t, e);
    }
    // Until it is locked, another job's sweep may take a fresh directory for a dead job's and
    // remove it: gone before it could be opened, it is made again (as when it was locked gone).
    const handle = await openDirNoFollow(inTarget(t, name)).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw failed(t, e);
    });
    if (!handle) continue;
    try {
      await handle.chmod(DIR_MODE); // whatever the umask
      const locked = await flockExclusive(handle.fd, 0);
      const [st, named] = await Promise.all([handle.stat(), lstat(inTarget(t, name)).catch(() => undefined)]);
      if (!locked || st.nlink < 2 || named?.ino !== st.ino) {
        await handle.close();
        continue;
      }
      const output = await makeOutputFile(handle, outputName, sandbox);
      return { path: path.join(t.dir, name), handle, output };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e instanceof ZtError ? e : failed(t, e);
    }
  }
  throw new ZtError('usage', `cannot create a job directory in ${t.dir}: it kept disappearing`, { hint: 'another process is removing entries of the output directory' });
}

async function makeOutputFile(dir: FileHandle, name: string, sandbox: { uid: number; gid: number; dropped: boolean }): Promise<JobDir['output']> {
  const handle = await open(`/proc/self/fd/${dir.fd}/${name}`, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // The sandbox runs as its own uid (a root caller): it must own the one file it may write.
    if (sandbox.dropped) await handle.chown(sandbox.uid, sandbox.gid);
    await handle.chmod(0o600);
    const st = await handle.stat();
    return { name, handle, dev: st.dev, ino: st.ino };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Remove what the job created, then the directory, and let the lock go. Never throws. */
export async function removeJobDir(j: JobDir, t: OutputTarget): Promise<void> {
  await j.output.handle.close().catch(() => undefined);
  await removeJobEntries(j.handle, inTarget(t, path.basename(j.path)));
  await j.handle.close().catch(() => undefined);
}

/** Pure: a name a job creates in its directory (the only names the sweep removes). */
export function isJobEntry(name: string): boolean {
  return name === PROVENANCE_TMP || (name.startsWith(OUTPUT_PREFIX) && !name.includes('/'));
}

/** Unlink the job's own entries (never following, never recursing), then rmdir if it is still the same directory. */
async function removeJobEntries(dir: FileHandle, named: string): Promise<boolean> {
  const at = `/proc/self/fd/${dir.fd}`;
  const names = await readdir(at).catch(() => [] as string[]);
  for (const n of names) if (isJobEntry(n)) await unlink(`${at}/${n}`).catch(() => undefined);
  const [st, now] = await Promise.all([dir.stat(), lstat(named).catch(() => undefined)]);
  if (now === undefined || now.ino !== st.ino || now.dev !== st.dev || !now.isDirectory()) return false;
  return rmdir(named).then(() => true, () => false);
}

/** Pure: whether a directory found by the sweep is one this caller's job made (owner and exact mode). */
export function sweepable(st: Pick<Stats, 'uid' | 'mode'> & { isDirectory(): boolean }, caller: number): boolean {
  return st.isDirectory() && st.uid === caller && (st.mode & 0o7777) === DIR_MODE;
}

/** Remove the job directories killed jobs left in the output directory; returns how many. */
export async function sweepStaleJobDirs(t: OutputTarget): Promise<number> {
  const caller = process.geteuid?.() ?? 0;
  const names = await readdir(inTarget(t, '.')).catch(() => [] as string[]);
  let n = 0;
  for (const name of names) {
    if (!name.startsWith(JOB_DIR_PREFIX)) continue;
    const handle = await openDirNoFollow(inTarget(t, name)).catch(() => undefined);
    if (!handle) continue; // a symlink, a file, or gone
    try {
      if (!sweepable(await handle.stat(), caller)) continue;
      if (!(await flockExclusive(handle.fd, 0))) continue; // its job is alive
      if (await removeJobEntries(handle, inTarget(t, name))) n++;
    } catch {
      /* best effort: leave it */
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return n;
}
