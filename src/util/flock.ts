/**
 * Kernel locks (flock(2)) on open files: the kernel releases them when the holder's last
 * descriptor closes, which includes its death, so liveness is never guessed from a pid (a pid
 * means nothing in another PID namespace, and a recycled one names an unrelated process).
 *
 * Node has no flock binding. util-linux flock(1) locks a descriptor it inherits; a flock belongs
 * to the open file description, which our descriptor shares, so the lock stays held after
 * flock(1) exits, until we close our descriptor or die. flock(1) runs as the caller, so it is
 * checked like any binary we run (root-owned, not writable by group or others) before it runs.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ZtError } from '../errors.js';
import { execBrief } from './exec.js';

export const FLOCK_BINARY = '/usr/bin/flock';
/** flock(1)'s exit status when the lock is held by someone else (chosen with -E). */
const CONFLICT = 75;

let checked: Promise<void> | undefined;

/** The posture of flock(1): checked once per process, before it ever runs. */
function checkFlockBinary(): Promise<void> {
  checked ??= stat(FLOCK_BINARY).then(
    (st) => {
      if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
        throw new ZtError('binary-unavailable', `${FLOCK_BINARY} could be replaced by a non-root user (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`, {
          hint: `chown root:root ${FLOCK_BINARY} && chmod go-w ${FLOCK_BINARY}`,
        });
      }
    },
    (e: unknown) => {
      throw new ZtError('binary-unavailable', `${FLOCK_BINARY} is missing (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'install util-linux (./setup.sh)' });
    },
  );
  return checked;
}

/**
 * Take an exclusive flock on the open file description behind `fd`. `waitMs` 0 tries once.
 * Returns false when another holder keeps it (after waiting up to waitMs).
 */
export async function flockExclusive(fd: number, waitMs: number): Promise<boolean> {
  await checkFlockBinary();
  const mode = waitMs > 0 ? ['--timeout', (waitMs / 1000).toFixed(3)] : ['--nonblock'];
  const r = await execBrief(FLOCK_BINARY, ['--exclusive', ...mode, '--conflict-exit-code', String(CONFLICT), '3'], { timeoutMs: waitMs + 10_000, env: {}, extraFds: [fd] });
  if (r.exitCode === 0) return true;
  if (r.exitCode === CONFLICT) return false;
  throw new ZtError('internal', `flock(1) failed (${r.signal ?? `exit ${r.exitCode}`}): ${r.stderr.trim() || r.spawnError || 'no message'}`, {});
}

/** Pure: the kernel's major and minor numbers of a stat() dev_t (glibc's encoding). */
export function devParts(dev: number): { major: number; minor: number } {
  const hi = Math.floor(dev / 2 ** 32);
  const lo = dev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00) };
}

/** Pure: pids holding (not waiting for) a FLOCK on the file with this dev/ino, from /proc/locks text. */
export function parseFlockHolders(locksText: string, dev: number, ino: number): number[] {
  const { major, minor } = devParts(dev);
  const pids: number[] = [];
  for (const line of locksText.split('\n')) {
    const m = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (parseInt(m[2] ?? '', 16) === major && parseInt(m[3] ?? '', 16) === minor && Number(m[4]) === ino) pids.push(Number(m[1]));
  }
  return pids;
}

/** Who holds the flock on this file, for a message: "pid 123 (flock)"; pids outside our PID namespace show as 0. */
export async function describeFlockHolders(st: Stats): Promise<string | undefined> {
  const text = await readFile('/proc/locks', 'utf8').catch(() => '');
  const pids = parseFlockHolders(text, st.dev, st.ino);
  if (pids.length === 0) return undefined;
  const named = await Promise.all(
    pids.map(async (pid) => {
      if (pid <= 0) return 'a process in another PID namespace';
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      return `pid ${pid}${comm ? ` (${comm})` : ''}`;
    }),
  );
  return named.join(', ');
}
