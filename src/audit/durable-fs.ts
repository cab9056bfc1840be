/** Small durable-write helpers: fsync a directory, atomically replace a file. */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A unique sibling name for a temporary file (same directory, so rename is atomic). */
export function tmpSibling(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Write `data` to a fresh temporary sibling (O_EXCL, `mode`) and fsync it. Returns its path. */
export async function writeTmpSibling(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const tmp = tmpSibling(path);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // umask may have narrowed or, for 0644, already be right; be exact
    await fh.sync();
  } catch (e: unknown) {
    await fh.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Atomically replace `path` with `data`: temp file + fsync + rename + fsync of the directory. */
export async function replaceFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = await writeTmpSibling(path, data, mode);
  try {
    await fs.rename(tmp, path);
  } catch (e: unknown) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/**
 * Create `path` with `data` only if it does not exist yet, never exposing a
 * half-written file: temp file + fsync + link(2) (fails with EEXIST atomically).
 * Returns false when the path already existed.
 */
export async function createFileExclusive(path: string, data: string | Uint8Array, mode: number): Promise<boolean> {
  const tmp = await writeTmpSibling(path, data, mode);
  try {
    await fs.link(tmp, path);
  } catch (e: unknown) {
    if ((e as { code?: unknown }).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dirname(path));
  return true;
}
