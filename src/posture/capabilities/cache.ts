/**
 * The on-disk cache of build listings, so `-h full` (tens of thousands of lines) is read once
 * per binary rather than once per job. Keyed by what identifies the binary on disk: a replaced
 * or patched binary misses the cache and is listed again. The cache is only an optimisation:
 * unreadable or unwritable, it costs time and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Capabilities } from './listing.js';

/** Raised when the shape of a cached entry changes, so old entries are never read as new ones. */
const CACHE_VERSION = 1;

export const HARDENING_CACHE_FILE = 'ffmpeg-capabilities.json';

/** The binary's path, inode, size, times and (when posture computed it) sha256. */
export async function cacheKey(binary: string, sha256: string | undefined): Promise<string> {
  const st = await stat(binary);
  return `v${CACHE_VERSION}|${binary}|${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}|${sha256 ?? ''}`;
}

interface CacheFile {
  readonly entries: Record<string, Capabilities>;
}

function isCapabilities(v: unknown): v is Capabilities {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c['sections'] === 'object' && c['sections'] !== null && typeof c['decoders'] === 'object' && c['decoders'] !== null;
}

/** Every well-formed entry of the cache file; a missing or damaged file reads as empty. */
export async function readCache(file: string): Promise<Record<string, Capabilities>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const entries = (v as Partial<CacheFile> | null)?.entries;
    if (typeof entries !== 'object' || entries === null) return {};
    const out: Record<string, Capabilities> = {};
    for (const [k, c] of Object.entries(entries)) if (isCapabilities(c)) out[k] = c;
    return out;
  } catch {
    return {};
  }
}

/** Add one entry (atomically: write a private temporary file, then rename it over the cache). */
export async function writeCache(file: string, key: string, caps: Capabilities): Promise<void> {
  try {
    const entries = await readCache(file);
    // Keep the cache small: only the binaries seen most recently.
    const kept = Object.entries(entries).filter(([k]) => k !== key).slice(-3);
    const body: CacheFile = { entries: { ...Object.fromEntries(kept), [key]: caps } };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // Unique per write: two writers of one process (a batch) never share a temporary file.
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    /* a cache that cannot be written only costs time */
  }
}
