/**
 * Devices pillar: the binaries the job is about to trust. Each is resolved to an absolute
 * path and opened once; everything is then checked on that descriptor, in this order, before
 * the binary ever runs: a regular executable file, owned by root and not writable by group or
 * others (when the policy says so), equal to the pinned sha256 where one is pinned. Only a
 * binary that passed all of that runs, and then through the same descriptor
 * (/proc/self/fd/N): for its version (the policy's minimum), and in the sandbox, where the
 * descriptor is bound over its path, so the inode checked is the inode that runs.
 *
 * Versions and hashes are cached by path+inode+size+mtime+ctime, so the check costs almost
 * nothing per job. The cache is a file any process of the caller can write: it is never
 * trusted for a pinned binary, whose hash is computed every time.
 */
import { readFile, writeFile, mkdir, rename, open, type FileHandle } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { exec } from '../util/exec.js';
import { ZtError, type Violation } from '../errors.js';
import type { BinaryRule, PostureConfig } from '../policy/types.js';

export type BinaryName = 'ffmpeg' | 'ffprobe' | 'bwrap' | 'prlimit';

export interface BinaryFacts {
  readonly name: BinaryName;
  readonly path: string;
  readonly version: string;
  readonly sha256: string;
  readonly owner: number;
  readonly mode: string;
}

const SEARCH_DIRS = ['/usr/bin', '/usr/local/bin', '/bin'];

/** Where a binary may not live: it is bound over its own path inside the sandbox. */
const RESERVED = ['/proc', '/dev', '/sys', '/in'];

function usablePath(p: string): boolean {
  return path.isAbsolute(p) && path.normalize(p) === p && !RESERVED.some((r) => p === r || p.startsWith(`${r}/`));
}

/** Open the binary (following a link, as exec would) and stat the descriptor. The caller closes it. */
export async function resolveBinary(name: BinaryName, rule: BinaryRule | undefined): Promise<{ path: string; st: Stats; handle: FileHandle } | undefined> {
  const candidates = rule?.path ? [rule.path] : SEARCH_DIRS.map((d) => path.join(d, name));
  for (const c of candidates) {
    if (!usablePath(c)) continue;
    const handle = await open(c, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch(() => undefined);
    if (!handle) continue;
    const st = await handle.stat();
    if (st.isFile() && (st.mode & 0o111) !== 0) return { path: c, st, handle };
    await handle.close();
  }
  return undefined;
}

/** Pure: "ffmpeg version 5.1.9-0+deb12u1 Copyright" → "5.1.9"; "bubblewrap 0.8.0" → "0.8.0". */
export function parseVersion(name: BinaryName, text: string): string | undefined {
  const first = text.split('\n')[0] ?? '';
  const m = name === 'bwrap' ? /bubblewrap\s+(\d+(?:\.\d+)*)/.exec(first)
    : name === 'prlimit' ? /(\d+(?:\.\d+)+)/.exec(first)
    : /version\s+n?(\d+(?:\.\d+)*)/.exec(first);
  return m?.[1];
}

/** Pure: compare dotted versions numerically. */
export function versionAtLeast(actual: string, minimum: string): boolean {
  const a = actual.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

interface CacheEntry {
  key: string;
  version: string;
  sha256: string;
}
type Cache = Record<string, CacheEntry>;

function cacheKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

async function readCache(file: string | undefined): Promise<Cache> {
  if (!file) return {};
  try {
    const v: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof v === 'object' && v !== null ? (v as Cache) : {};
  } catch {
    return {};
  }
}

async function writeCache(file: string | undefined, cache: Cache): Promise<void> {
  if (!file) return;
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(cache), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    /* a cache that cannot be written only costs time */
  }
}

async function sha256Of(handle: FileHandle): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; ; ) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return h.digest('hex');
}

/** Who runs a checked binary on the host: a root caller runs it as the sandbox user. */
export type RunAs = { readonly uid: number; readonly gid: number } | undefined;

/** Run the checked binary for its version, through its descriptor (the inode that was checked). */
async function versionOf(name: BinaryName, handle: FileHandle, runAs: RunAs): Promise<string | undefined> {
  const args = name === 'bwrap' || name === 'prlimit' ? ['--version'] : ['-hide_banner', '-version'];
  const r = await exec('/proc/self/fd/3', args, { timeoutMs: 10_000, env: {}, extraFds: [handle.fd], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
  return parseVersion(name, r.stdout || r.stderr) ?? (name === 'ffmpeg' || name === 'ffprobe' ? parseVersion(name, `x version ${/^\S+ version (\S+)/.exec(r.stdout)?.[1] ?? ''}`) : undefined);
}

export interface PostureReport {
  readonly binaries: Partial<Record<BinaryName, BinaryFacts>>;
  readonly violations: Violation[];
  readonly missing: BinaryName[];
  /** Open descriptors of the binaries that passed (bind them into the sandbox); close with release(). */
  readonly handles: Partial<Record<BinaryName, FileHandle>>;
  release(): Promise<void>;
}

function ownerViolation(name: BinaryName, file: string, st: Stats): Violation {
  return {
    rule: `posture.${name}.owner`,
    actual: `uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`,
    limit: 'owned by root, not writable by group or others',
    message: `${file} could be replaced by a non-root user`,
    hint: `chown root:root ${file} && chmod go-w ${file}`,
  };
}

function missingViolation(name: BinaryName, rule: BinaryRule | undefined): Violation {
  return {
    rule: `posture.${name}.present`,
    actual: rule?.path ?? 'not found',
    limit: 'an executable file at an absolute path outside /proc, /dev, /sys and /in',
    message: `${name} was not found${rule?.path ? ` at ${rule.path}` : ` in ${SEARCH_DIRS.join(', ')}`}`,
    hint: name === 'prlimit' ? 'install util-linux' : `install it: apt-get install -y ${name === 'bwrap' ? 'bubblewrap' : 'ffmpeg'} (or run ./setup.sh)`,
  };
}

/**
 * Check one binary: every static check on the open descriptor first; run it (for its version)
 * only if they all pass. Returns the facts, or undefined (with violations) when it must not run.
 */
async function checkBinary(name: BinaryName, rule: BinaryRule | undefined, cfg: PostureConfig, cache: Cache, found: { path: string; st: Stats; handle: FileHandle }, violations: Violation[], runAs: RunAs): Promise<{ facts: BinaryFacts; fresh?: CacheEntry } | undefined> {
  const { path: file, st, handle } = found;
  const own = cfg.requireRootOwned && (st.uid !== 0 || (st.mode & 0o022) !== 0) ? ownerViolation(name, file, st) : undefined;
  if (own) violations.push(own);
  const key = cacheKey(st);
  const cached = cache[file]?.key === key ? cache[file] : undefined;
  // A pinned binary is hashed every time: the cache could have been written by anyone running as the caller.
  const sha256 = rule?.sha256 !== undefined || cached === undefined ? await sha256Of(handle) : cached.sha256;
  const facts = (version: string): BinaryFacts => ({ name, path: file, version, sha256, owner: st.uid, mode: (st.mode & 0o7777).toString(8) });
  if (rule?.sha256 && rule.sha256 !== sha256) {
    violations.push({
      rule: `posture.${name}.sha256`,
      actual: sha256,
      limit: rule.sha256,
      message: `${file} does not match the pinned sha256`,
      hint: 'the binary changed since it was pinned: check the package, then re-pin with `zt-ffmpeg policy pin`',
    });
  }
  if (own || (rule?.sha256 && rule.sha256 !== sha256)) return { facts: facts('not run (refused before running)') };
  const version = cached !== undefined && cached.sha256 === sha256 ? cached.version : ((await versionOf(name, handle, runAs)) ?? 'unknown');
  if (rule?.minVersion && !(version !== 'unknown' && versionAtLeast(version, rule.minVersion))) {
    violations.push({ rule: `posture.${name}.minVersion`, actual: version, limit: rule.minVersion, message: `${name} ${version} is older than the minimum ${rule.minVersion}`, hint: `upgrade ${name}` });
  }
  return { facts: facts(version), ...(cached?.version === version && cached.sha256 === sha256 ? {} : { fresh: { key, version, sha256 } }) };
}

/** Check the binaries the job needs. `need` lists which; bwrap may be optional in degraded mode. */
export async function checkPosture(cfg: PostureConfig, need: readonly BinaryName[], cacheFile: string | undefined, runAs?: RunAs): Promise<PostureReport> {
  const cache = await readCache(cacheFile);
  let dirty = false;
  const binaries: Partial<Record<BinaryName, BinaryFacts>> = {};
  const handles: Partial<Record<BinaryName, FileHandle>> = {};
  const opened: FileHandle[] = [];
  const violations: Violation[] = [];
  const missing: BinaryName[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(opened.map((h) => h.close().catch(() => undefined)));
  };
  try {
    await Promise.all(
      need.map(async (name) => {
        const rule: BinaryRule | undefined = name === 'prlimit' ? undefined : cfg.binaries[name];
        const found = await resolveBinary(name, rule);
        if (!found) {
          missing.push(name);
          violations.push(missingViolation(name, rule));
          return;
        }
        opened.push(found.handle);
        const before = violations.length;
        const r = await checkBinary(name, rule, cfg, cache, found, violations, runAs);
        if (!r) return;
        binaries[name] = r.facts;
        if (violations.length === before || violations.slice(before).every((v) => v.rule.endsWith('.minVersion'))) handles[name] = found.handle;
        if (r.fresh) {
          cache[found.path] = r.fresh;
          dirty = true;
        }
      }),
    );
  } catch (e) {
    await release();
    throw e;
  }
  if (dirty) await writeCache(cacheFile, cache);
  return { binaries, violations, missing, handles, release };
}

export function postureError(r: PostureReport): ZtError {
  const first = r.violations[0];
  return new ZtError(r.missing.length > 0 ? 'binary-unavailable' : 'posture-failed', `posture check failed: ${r.violations.map((v) => v.message).join('; ')}`, {
    hint: first?.hint,
    violations: r.violations,
  });
}
