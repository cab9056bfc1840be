/**
 * Detect what one ffmpeg/ffprobe binary can do by running its `-h full` and `-decoders`
 * listings (the only place here that spawns). Remembered in this process and cached on disk
 * by the binary's identity (cache.ts), since the input's probe, the decode and the output's
 * probe all ask about the same binaries.
 */
import path from 'node:path';
import { ZtError } from '../../errors.js';
import { exec } from '../../util/exec.js';
import { HARDENING_CACHE_FILE, cacheKey, readCache, writeCache } from './cache.js';
import { parseDecoders, parseHelpFull, type Capabilities } from './listing.js';

const memo = new Map<string, Capabilities>();
/** Cache files read in this process: every entry goes into `memo` at once (the input's probe and the decode ask about two binaries, one after the other). */
const loaded = new Map<string, Promise<void>>();

function loadCacheFile(file: string): Promise<void> {
  let p = loaded.get(file);
  if (!p) {
    p = readCache(file).then((entries) => {
      for (const [k, c] of Object.entries(entries)) if (!memo.has(k)) memo.set(k, c);
    });
    loaded.set(file, p);
  }
  return p;
}

/**
 * The options and decoders of one ffmpeg/ffprobe binary. Cached by the binary's path, inode,
 * size, times and (when posture computed it) sha256, in `stateDir` when given.
 */
export async function detectCapabilities(binary: string, opts: { stateDir?: string; sha256?: string; timeoutMs?: number; runAs?: { uid: number; gid: number } } = {}): Promise<Capabilities> {
  const key = await cacheKey(binary, opts.sha256);
  const hit = memo.get(key);
  if (hit) return hit;
  const cacheFile = opts.stateDir ? path.join(opts.stateDir, HARDENING_CACHE_FILE) : undefined;
  if (cacheFile) {
    await loadCacheFile(cacheFile);
    const cached = memo.get(key);
    if (cached) return cached;
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // Never as root: a root caller lists the binary as the sandbox user, like everything it runs.
  const as = opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {};
  const [help, decoders] = await Promise.all([
    exec(binary, ['-hide_banner', '-h', 'full'], { timeoutMs, maxBuffer: 32 * 1024 * 1024, ...as }),
    exec(binary, ['-hide_banner', '-decoders'], { timeoutMs, maxBuffer: 8 * 1024 * 1024, ...as }),
  ]);
  for (const r of [help, decoders]) {
    if (r.spawnFailed || r.timedOut || r.truncated || r.exitCode !== 0) {
      throw new ZtError('binary-unavailable', `cannot list the options of ${binary}: ${r.spawnError ?? (r.timedOut ? 'timed out' : r.truncated ? 'its listing is longer than any ffmpeg prints' : `exit ${r.exitCode ?? r.signal}`)}`, {
        hint: 'run `zt-ffmpeg doctor`; the ffmpeg installation looks broken',
      });
    }
  }
  const caps: Capabilities = { sections: parseHelpFull(help.stdout), decoders: parseDecoders(decoders.stdout) };
  if (Object.keys(caps.sections).length < 3 || Object.keys(caps.decoders).length === 0) {
    throw new ZtError('binary-unavailable', `${binary} printed no option listing that zt-ffmpeg understands`, { hint: 'run `zt-ffmpeg doctor`; is this really ffmpeg?' });
  }
  memo.set(key, caps);
  if (cacheFile) await writeCache(cacheFile, key, caps);
  return caps;
}
