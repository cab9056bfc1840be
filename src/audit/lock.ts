/**
 * Inter-process append lock: `<log>.lock`, created with O_EXCL and holding
 * {pid, hostname, ts, nonce}. A lock whose pid is dead on this host is stale and
 * is broken under a second O_EXCL "breaker" lock, after re-reading it, so two
 * waiters can never both break it and delete each other's fresh lock. Locks held
 * on another host (shared file systems) are never broken automatically.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZtError } from '../errors.js';
import { auditUnavailable, errnoOf } from './fs-errors.js';

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly ts: string;
  readonly nonce: string;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** A lock file that cannot be parsed (its creator died between create and write) is stale after this. */
const UNREADABLE_STALE_MS = 10_000;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return errnoOf(e) === 'EPERM';
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e: unknown) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw auditUnavailable('create the audit lock', path, e);
  }
  try {
    await fh.writeFile(content);
  } catch (e: unknown) {
    await fh.close().catch(() => undefined);
    await fs.unlink(path).catch(() => undefined);
    throw auditUnavailable('write the audit lock', path, e);
  }
  await fh.close();
  return true;
}

async function readOwner(path: string): Promise<{ raw: string; owner: LockOwner | undefined; mtimeMs: number } | undefined> {
  try {
    const [raw, st] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    let owner: LockOwner | undefined;
    try {
      const o = JSON.parse(raw) as Partial<LockOwner>;
      if (typeof o.pid === 'number' && typeof o.hostname === 'string' && typeof o.nonce === 'string' && typeof o.ts === 'string') {
        owner = { pid: o.pid, hostname: o.hostname, ts: o.ts, nonce: o.nonce };
      }
    } catch {
      owner = undefined;
    }
    return { raw, owner, mtimeMs: st.mtimeMs };
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw auditUnavailable('read the audit lock', path, e);
  }
}

function isStale(info: { owner: LockOwner | undefined; mtimeMs: number }): boolean {
  if (info.owner === undefined) return Date.now() - info.mtimeMs > UNREADABLE_STALE_MS;
  return info.owner.hostname === hostname() && !pidAlive(info.owner.pid);
}

/** Remove `path` if it still holds exactly `raw`, serialized by a breaker lock. */
async function breakStale(path: string, raw: string): Promise<void> {
  const breaker = `${path}.break`;
  const me = JSON.stringify({ pid: process.pid, hostname: hostname(), ts: new Date().toISOString(), nonce: randomBytes(8).toString('hex') });
  if (!(await tryCreate(breaker, me))) {
    const b = await readOwner(breaker);
    if (b !== undefined && isStale(b)) await fs.unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const again = await readOwner(path);
    if (again !== undefined && again.raw === raw) await fs.unlink(path).catch(() => undefined);
  } finally {
    await fs.unlink(breaker).catch(() => undefined);
  }
}

export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), ts: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  const content = JSON.stringify(owner);
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  let lastSeen: { owner: LockOwner | undefined } | undefined;
  for (;;) {
    if (await tryCreate(path, content)) {
      return { path, release: () => releaseLock(path, owner.nonce) };
    }
    const info = await readOwner(path);
    lastSeen = info;
    if (info === undefined) continue; // released between our attempt and the read: retry at once
    if (isStale(info)) await breakStale(path, info.raw); // then retry after a short pause
    if (Date.now() >= deadline) {
      const o = lastSeen?.owner;
      const holder = o === undefined ? 'an unknown holder' : `pid ${o.pid} on ${o.hostname} since ${o.ts}`;
      throw new ZtError('audit-unavailable', `lock timeout: ${path} is held by ${holder} (waited ${timeoutMs} ms)`, {
        hint: `if no zt-ffmpeg process is running${o !== undefined && o.hostname !== hostname() ? ` on ${o.hostname}` : ''}, remove ${path} and retry`,
        details: { path, holder: o },
      });
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 50);
  }
}

async function releaseLock(path: string, nonce: string): Promise<void> {
  const info = await readOwner(path).catch(() => undefined);
  if (info?.owner?.nonce === nonce) await fs.unlink(path).catch(() => undefined);
}
