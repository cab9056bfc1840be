/**
 * The destination: checked before any work, written only by an atomic step at the very end.
 *
 * The output's directory is resolved once, like ssh's StrictModes (src/util/strict-modes.ts),
 * and held open: every later step (the job directory, the sweep, publishing, the provenance
 * sidecar) goes through that descriptor (`/proc/self/fd/N/name`), so swapping a directory or
 * planting a link after the check redirects nothing. The job writes into a private directory
 * beside the destination (same file system), so publishing is one link (which refuses to
 * replace a file) or one rename (--overwrite), and a destination is never seen half-written.
 */
import { constants, type Stats } from 'node:fs';
import { link, lstat, open, realpath, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ZtError, type Violation } from '../errors.js';
import type { Stage } from '../policy/types.js';
import { describeProblem, resolveSecureDirectory } from '../util/strict-modes.js';

export interface OutputTarget {
  /** The output's path, in its resolved directory. */
  readonly path: string;
  /** The resolved directory. */
  readonly dir: string;
  readonly base: string;
  readonly extension: string;
  readonly overwrite: boolean;
  /** The directory, open: every write goes through it. */
  readonly dirHandle: FileHandle;
}

/** A name inside the output's directory, reached through its descriptor (never re-resolved). */
export function inTarget(t: OutputTarget, name: string): string {
  return `/proc/self/fd/${t.dirHandle.fd}/${name}`;
}

function usage(message: string, v: Violation, hint: string): ZtError {
  return new ZtError('usage', message, { hint, violations: [v] });
}

/** Pure: at advanced and optimal, an output path with `..` is refused, with the path to use instead. */
export function dotDotRefusal(file: string, stage: Stage): ZtError | undefined {
  if (stage === 'initial' || !file.split(/\/+/).includes('..')) return undefined;
  const normalized = path.resolve(file);
  return usage(`output ${file} has ".." components`, { rule: 'output.path', actual: file, limit: 'a path without ".."', message: `${file} climbs out of a directory with ".."` }, `name it without "..": -o ${normalized}`);
}

/** The output's directory, resolved once and opened; refused when another user could replace it. */
async function openSecureDir(dir: string): Promise<{ real: string; handle: FileHandle }> {
  const caller = process.geteuid?.() ?? 0;
  const r = await resolveSecureDirectory(dir, caller);
  if (!r.ok && 'missing' in r) {
    throw usage(`output directory ${dir} does not exist (${r.missing}: ${r.code})`, { rule: 'output.dir', actual: dir, limit: 'an existing directory', message: `${dir} is not an existing directory` }, 'create it first, or choose another -o');
  }
  if (!r.ok) {
    const p = r.problem;
    throw usage(`output directory ${dir} could be replaced by another user: ${describeProblem(p)}`, { rule: 'output.dir', actual: `${p.path}: uid ${p.uid}, mode ${p.mode}`, limit: 'every directory on the way owned by root or you, not writable by group or others (unless sticky); no link owned by anyone else', message: describeProblem(p) }, `write into a directory only you and root control (e.g. chmod go-w ${p.path}), or choose another -o`);
  }
  const handle = await open(r.real, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  const st = await handle.stat();
  if (st.dev !== r.st.dev || st.ino !== r.st.ino) {
    await handle.close();
    throw usage(`output directory ${r.real} changed while it was checked`, { rule: 'output.dir', actual: r.real, limit: 'a directory that stays put', message: `${r.real} was replaced during the check` }, 'retry; if it happens again, someone is racing you in that directory');
  }
  return { real: r.real, handle };
}

export async function checkOutput(file: string, overwrite: boolean, opts: { stage: Stage; sidecars?: readonly string[] }): Promise<OutputTarget> {
  const dotDot = dotDotRefusal(file, opts.stage);
  if (dotDot) throw dotDot;
  const abs = path.resolve(file);
  const extension = path.extname(abs).slice(1).toLowerCase();
  if (extension === '') {
    throw new ZtError('usage', `output ${abs} has no extension`, { hint: 'name the output with the extension of the format you want, e.g. out.mp4' });
  }
  const { real, handle } = await openSecureDir(path.dirname(abs));
  const base = path.basename(abs);
  const target: OutputTarget = { path: path.join(real, base), dir: real, base, extension, overwrite, dirHandle: handle };
  try {
    for (const name of [base, ...(opts.sidecars ?? []).map((s) => `${base}${s}`)]) await checkFree(target, name);
  } catch (e) {
    await handle.close();
    throw e;
  }
  return target;
}

/** A name the job will publish to: absent, or (with --overwrite) a regular file. */
async function checkFree(t: OutputTarget, name: string): Promise<void> {
  const shown = path.join(t.dir, name);
  let st: Stats;
  try {
    st = await lstat(inTarget(t, name));
  } catch {
    return; // ENOENT: good
  }
  if (st.isSymbolicLink() || !st.isFile()) {
    throw usage(`output ${shown} exists and is a ${st.isSymbolicLink() ? 'symbolic link' : 'non-regular file'}`, { rule: 'output.regular-file', actual: st.isSymbolicLink() ? 'symlink' : 'special file', limit: 'absent or a regular file', message: `${shown} is not a regular file` }, 'choose another -o; zt-ffmpeg never writes through links or into special files');
  }
  if (!t.overwrite) {
    throw usage(`output ${shown} already exists`, { rule: 'output.exists', actual: shown, limit: 'a path that does not exist (or --overwrite)', message: `${shown} already exists` }, 'pass --overwrite to replace it, or choose another -o');
  }
}

/**
 * `-o` must not name a file the job reads or keeps its evidence in: the input, the audit log
 * (and its checkpoint and lock), the audit key, the policy and its signature. Compared by
 * resolved path and, for files that exist, by inode (a hard link is the same file).
 */
export async function refuseProtectedTarget(t: OutputTarget, protectedFiles: ReadonlyArray<{ readonly path: string; readonly what: string }>): Promise<void> {
  const targetSt = await stat(inTarget(t, t.base)).catch(() => undefined);
  for (const f of protectedFiles) {
    const abs = path.resolve(f.path);
    const real = await realpath(abs).catch(() => path.join(path.dirname(abs), path.basename(abs)));
    const st = await stat(abs).catch(() => undefined);
    const same = real === t.path || abs === t.path || (st !== undefined && targetSt !== undefined && st.dev === targetSt.dev && st.ino === targetSt.ino);
    if (same) {
      throw usage(`output ${t.path} is the ${f.what}`, { rule: 'output.protected', actual: t.path, limit: `not the ${f.what}`, message: `-o names the ${f.what} (${abs})` }, 'choose another -o');
    }
  }
}

/**
 * Publish the verified file (the open descriptor `file`, which is the inode that was checked)
 * from `from` (its name in the job directory) to the target: link, which never replaces a file,
 * or rename with --overwrite. Then the published name must be that inode.
 */
export async function publishFile(file: FileHandle, from: string, t: OutputTarget, name: string): Promise<void> {
  const to = inTarget(t, name);
  const shown = path.join(t.dir, name);
  try {
    if (t.overwrite) await rename(from, to);
    else await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') {
      throw usage(`output ${shown} appeared while the job ran; it was not replaced`, { rule: 'output.exists', actual: shown, limit: 'a path that does not exist (or --overwrite)', message: `${shown} already exists` }, 'pass --overwrite to replace it, or choose another -o');
    }
    throw new ZtError('usage', `cannot publish ${shown}: ${code}`, { hint: 'the output directory must stay writable while the job runs' });
  }
  const [a, b] = await Promise.all([file.stat(), lstat(to)]);
  if (a.dev !== b.dev || a.ino !== b.ino) {
    throw new ZtError('ffmpeg-failed', `${shown} is not the file that was verified`, { hint: 'someone is racing you in the output directory; the file there is not what zt-ffmpeg verified' });
  }
  await t.dirHandle.sync();
}
