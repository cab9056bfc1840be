/**
 * Inter-process append lock: an exclusive flock(2) on `<log>.lock` (src/util/flock.ts). The
 * kernel releases it when the holder closes it or dies, so there is no stale lock to break and
 * no pid to guess: a lock file naming some pid (pid 1, say) means nothing, and a live holder is
 * never robbed. The file is never deleted (unlinking a lock file others wait on splits them
 * onto two inodes); it holds only a note of the last holder, for messages.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { ZtError } from '../errors.js';
import { describeFlockHolders, flockExclusive } from '../util/flock.js';
import { auditUnavailable } from './fs-errors.js';

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/*
 * The lock file's own steps (open, check, note, close) are synchronous: each is one system call
 * on a small local file, and a job takes this lock twice on its critical path (before ffmpeg
 * starts and after it ends). Through the thread pool each step cost a round trip of the event
 * loop; together they were about a millisecond per lock. flock(1) is the one slow step.
 */
function openLockFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e: unknown) {
    throw auditUnavailable('open the audit lock', path, e);
  }
  let regular: boolean;
  try {
    regular = fstatSync(fd).isFile();
  } catch (e: unknown) {
    closeSync(fd);
    throw auditUnavailable('open the audit lock', path, e);
  }
  if (!regular) {
    closeSync(fd);
    throw new ZtError('audit-unavailable', `audit lock ${path} is not a regular file`, { hint: `remove ${path}; zt-ffmpeg recreates it`, details: { path } });
  }
  return fd;
}

/** A note for messages only (the flock is the lock): whatever goes wrong writing it is ignored. */
function leaveNote(fd: number): void {
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify({ pid: process.pid, hostname: hostname(), ts: new Date().toISOString() }), 0);
  } catch {
    /* a full disk must not stop the append from failing closed on its own, with its own message */
  }
}

export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const fd = openLockFile(path);
  try {
    if (!(await flockExclusive(fd, Math.max(1, timeoutMs)))) {
      const holder = (await describeFlockHolders(fstatSync(fd))) ?? 'another process';
      // At most 200 bytes of whatever the file holds: it is read only for the message.
      let note = '';
      try {
        const buf = Buffer.alloc(200);
        note = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)).trim();
      } catch {
        /* the note is only for the message */
      }
      throw new ZtError('audit-unavailable', `lock timeout: ${path} is held by ${holder} (waited ${timeoutMs} ms)${note ? `; its last note: ${note}` : ''}`, {
        hint: `the holder is alive (the kernel would have released the lock otherwise): wait for it to finish, or stop ${holder}`,
        details: { path, holder },
      });
    }
    leaveNote(fd);
  } catch (e: unknown) {
    closeSync(fd);
    throw e;
  }
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
}
