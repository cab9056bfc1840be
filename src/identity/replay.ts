/**
 * Single-use token ids. One marker file per (iss, jti) under `<stateDir>/jti/`, created with
 * O_CREAT|O_EXCL ("wx"): the file system decides which of two racing processes saw the token
 * first. The marker's mtime is set to the token's expiry so stale markers can be pruned without
 * reading them. Any failure of the store refuses the token (fail closed).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { ZtError } from '../errors.js';

/** Markers are kept this long past expiry: longer than any clock tolerance a policy may set. */
const PRUNE_GRACE_SECONDS = 300 + 60;

export function replayDir(stateDir: string): string {
  return path.join(stateDir, 'jti');
}

function markerName(iss: string, jti: string): string {
  return createHash('sha256').update(`${iss}\n${jti}`).digest('hex');
}

function storeError(e: unknown, dir: string): ZtError {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return new ZtError('unauthenticated', `the token replay store ${dir} cannot be used (${code}), so a single-use token cannot be accepted`, {
    hint: 'make the state directory writable by this user (XDG_STATE_HOME/zt-ffmpeg), or turn off identity.singleUseJti',
    details: { reason: 'replay-store', path: dir },
    cause: e,
  });
}

/**
 * Record (iss, jti) as used. Returns 'fresh' the first time and 'replayed' ever after (until the
 * marker is pruned, which happens only after the token has expired). With `consume: false` only
 * checks.
 */
export async function useJti(
  stateDir: string,
  token: { iss: string; jti: string; exp: number },
  consume = true,
): Promise<'fresh' | 'replayed'> {
  const dir = replayDir(stateDir);
  const file = path.join(dir, markerName(token.iss, token.jti));
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!consume) {
      try {
        await stat(file);
        return 'replayed';
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'fresh';
        throw e;
      }
    }
    let fh;
    try {
      fh = await open(file, 'wx', 0o600);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'replayed';
      throw e;
    }
    try {
      await fh.writeFile(JSON.stringify({ iss: token.iss, jti: token.jti, exp: token.exp }) + '\n');
    } finally {
      await fh.close();
    }
    await utimes(file, token.exp, token.exp);
    return 'fresh';
  } catch (e: unknown) {
    throw storeError(e, dir);
  }
}

/** Remove markers of tokens that expired long enough ago that they can never verify again. */
export async function pruneReplayStore(stateDir: string, now: Date): Promise<number> {
  const dir = replayDir(stateDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const cutoff = now.getTime() / 1000 - PRUNE_GRACE_SECONDS;
  let removed = 0;
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const file = path.join(dir, name);
    try {
      const st = await stat(file);
      if (st.mtimeMs / 1000 < cutoff) {
        await unlink(file);
        removed++;
      }
    } catch {
      // Raced with another pruner, or unreadable: leave it; keeping a marker is always safe.
    }
  }
  return removed;
}
