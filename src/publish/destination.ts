/**
 * The destination: checked before any work, written only by an atomic step at the very end.
 * The job writes into a private directory beside the destination (same filesystem), so
 * publishing is one rename (or one link, which refuses to replace an existing file), and a
 * destination is never seen half-written.
 */
import { lstat, mkdtemp, rm, link, rename, unlink, open, stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ZtError } from '../errors.js';

export const JOB_DIR_PREFIX = '.zt-ffmpeg-job-';

export interface OutputTarget {
  readonly path: string;
  readonly dir: string;
  readonly extension: string;
  readonly overwrite: boolean;
}

export async function checkOutput(file: string, overwrite: boolean): Promise<OutputTarget> {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const extension = path.extname(abs).slice(1).toLowerCase();
  try {
    const d = await stat(dir);
    if (!d.isDirectory()) throw new Error('not a directory');
  } catch {
    throw new ZtError('usage', `output directory ${dir} does not exist`, {
      hint: 'create it first, or choose another -o',
      violations: [{ rule: 'output.dir', actual: dir, limit: 'an existing directory', message: `${dir} is not an existing directory` }],
    });
  }
  if (extension === '') {
    throw new ZtError('usage', `output ${abs} has no extension`, { hint: 'name the output with the extension of the format you want, e.g. out.mp4' });
  }
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink() || !st.isFile()) {
      throw new ZtError('usage', `output ${abs} exists and is a ${st.isSymbolicLink() ? 'symbolic link' : 'non-regular file'}`, {
        hint: 'choose another -o; zt-ffmpeg never writes through links or into special files',
        violations: [{ rule: 'output.regular-file', actual: st.isSymbolicLink() ? 'symlink' : 'special file', limit: 'absent or a regular file', message: `${abs} is not a regular file` }],
      });
    }
    if (!overwrite) {
      throw new ZtError('usage', `output ${abs} already exists`, {
        hint: 'pass --overwrite to replace it, or choose another -o',
        violations: [{ rule: 'output.exists', actual: abs, limit: 'a path that does not exist (or --overwrite)', message: `${abs} already exists` }],
      });
    }
  } catch (e) {
    if (e instanceof ZtError) throw e;
    /* ENOENT: good */
  }
  return { path: abs, dir, extension, overwrite };
}

export async function makeJobDir(target: OutputTarget): Promise<string> {
  try {
    // The owner's pid is in the name, so a later job can sweep what a killed one left behind.
    return await mkdtemp(path.join(target.dir, `${JOB_DIR_PREFIX}${process.pid}-`));
  } catch (e) {
    throw new ZtError('usage', `cannot create a job directory in ${target.dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'the output directory must be writable',
    });
  }
}

export async function removeJobDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

async function fsyncPath(p: string): Promise<void> {
  const h = await open(p, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Move the verified file into place atomically. Never replaces a file unless overwrite. */
export async function publish(tmpFile: string, target: OutputTarget): Promise<void> {
  await fsyncPath(tmpFile);
  if (target.overwrite) {
    await rename(tmpFile, target.path);
  } else {
    try {
      await link(tmpFile, target.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new ZtError('usage', `output ${target.path} appeared while the job ran; it was not replaced`, {
          hint: 'pass --overwrite to replace it, or choose another -o',
          violations: [{ rule: 'output.exists', actual: target.path, limit: 'a path that does not exist (or --overwrite)', message: `${target.path} already exists` }],
        });
      }
      throw e;
    }
    await unlink(tmpFile);
  }
  await fsyncPath(target.dir);
}

/** Remove job directories left in this directory by jobs whose process is gone (kill -9). */
export async function sweepStaleJobDirs(dir: string): Promise<number> {
  let n = 0;
  try {
    for (const e of await readdir(dir)) {
      if (!e.startsWith(JOB_DIR_PREFIX)) continue;
      const pid = Number(/^(\d+)-/.exec(e.slice(JOB_DIR_PREFIX.length))?.[1]);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
      const p = path.join(dir, e);
      const st = await lstat(p);
      if (st.isDirectory()) {
        await rm(p, { recursive: true, force: true });
        n++;
      }
    }
  } catch {
    /* best effort */
  }
  return n;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
