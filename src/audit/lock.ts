/**
 * Inter-process append lock: an exclusive flock(2) on `<log>.lock` (src/util/flock.ts). The
 * kernel releases it when the holder closes it or dies, so there is no stale lock to break and
 * no pid to guess: a lock file naming some pid (pid 1, say) means nothing, and a live holder is
 * never robbed. The file is never deleted (unlinking a lock file others wait on splits them
 * onto two inodes); it holds only a note of the last holder, for messages.
 */
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { ZtError } from '../errors.js';
import { describeFlockHolders, flockExclusive } from '../util/flock.js';
import { auditUnavailable } from './fs-errors.js';

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

async function openLockFile(path: string): Promise<fs.FileHandle> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e: unknown) {
    throw auditUnavailable('open the audit lock', path, e);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new ZtError('audit-unavailable', `audit lock ${path} is not a regular file`, { hint: `remove ${path}; zt-ffmpeg recreates it`, details: { path } });
  }
  return fh;
}

export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const fh = await openLockFile(path);
  try {
    if (!(await flockExclusive(fh.fd, Math.max(1, timeoutMs)))) {
      const st = await fh.stat();
      const holder = (await describeFlockHolders(st)) ?? 'another process';
      const note = (await fh.readFile('utf8').catch(() => '')).trim().slice(0, 200);
      throw new ZtError('audit-unavailable', `lock timeout: ${path} is held by ${holder} (waited ${timeoutMs} ms)${note ? `; its last note: ${note}` : ''}`, {
        hint: `the holder is alive (the kernel would have released the lock otherwise): wait for it to finish, or stop ${holder}`,
        details: { path, holder },
      });
    }
    // A note for messages only (the flock is the lock): a full disk must not stop the append
    // from failing closed on its own, with its own message.
    await fh.truncate(0).then(() => fh.write(JSON.stringify({ pid: process.pid, hostname: hostname(), ts: new Date().toISOString() }), 0)).catch(() => undefined);
  } catch (e: unknown) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return { path, release: () => fh.close() };
}
