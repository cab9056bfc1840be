/**
 * Devices pillar: the binaries the job is about to trust. Each is resolved to an absolute
 * path, must be a regular executable file (owned by root and not writable by group/others when
 * the policy says so), at least the policy's minimum version, and equal to the pinned sha256
 * where one is pinned. Versions and hashes are cached by path+inode+size+mtime+ctime, so the
 * posture check costs almost nothing per job.
 */
import { stat, readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { createReadStream, type Stats } from 'node:fs';
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

export async function resolveBinary(name: BinaryName, rule: BinaryRule | undefined): Promise<{ path: string; st: Stats } | undefined> {
  const candidates = rule?.path ? [rule.path] : SEARCH_DIRS.map((d) => path.join(d, name));
  for (const c of candidates) {
    try {
      const st = await stat(c);
      if (st.isFile() && (st.mode & 0o111) !== 0) return { path: c, st };
    } catch {
      /* try the next */
    }
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

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function versionOf(name: BinaryName, file: string): Promise<string | undefined> {
  const args = name === 'bwrap' || name === 'prlimit' ? ['--version'] : ['-hide_banner', '-version'];
  const r = await exec(file, args, { timeoutMs: 10_000, env: {} });
  return parseVersion(name, r.stdout || r.stderr) ?? (name === 'ffmpeg' || name === 'ffprobe' ? parseVersion(name, `x version ${/^\S+ version (\S+)/.exec(r.stdout)?.[1] ?? ''}`) : undefined);
}

export interface PostureReport {
  readonly binaries: Partial<Record<BinaryName, BinaryFacts>>;
  readonly violations: Violation[];
  readonly missing: BinaryName[];
}

/** Check the binaries the job needs. `need` lists which; bwrap may be optional in degraded mode. */
export async function checkPosture(cfg: PostureConfig, need: readonly BinaryName[], cacheFile: string | undefined): Promise<PostureReport> {
  const cache = await readCache(cacheFile);
  let dirty = false;
  const binaries: Partial<Record<BinaryName, BinaryFacts>> = {};
  const violations: Violation[] = [];
  const missing: BinaryName[] = [];
  await Promise.all(
    need.map(async (name) => {
      const rule: BinaryRule | undefined = name === 'prlimit' ? undefined : cfg.binaries[name];
      const found = await resolveBinary(name, rule);
      if (!found) {
        missing.push(name);
        violations.push({
          rule: `posture.${name}.present`,
          actual: rule?.path ?? 'not found',
          limit: 'an executable file',
          message: `${name} was not found${rule?.path ? ` at ${rule.path}` : ` in ${SEARCH_DIRS.join(', ')}`}`,
          hint: name === 'prlimit' ? 'install util-linux' : `install it: apt-get install -y ${name === 'bwrap' ? 'bubblewrap' : 'ffmpeg'} (or run ./setup.sh)`,
        });
        return;
      }
      const { path: file, st } = found;
      const key = cacheKey(st);
      let entry = cache[file];
      if (!entry || entry.key !== key) {
        const [version, sha256] = await Promise.all([versionOf(name, file), sha256File(file)]);
        entry = { key, version: version ?? 'unknown', sha256 };
        cache[file] = entry;
        dirty = true;
      }
      binaries[name] = { name, path: file, version: entry.version, sha256: entry.sha256, owner: st.uid, mode: (st.mode & 0o7777).toString(8) };
      if (cfg.requireRootOwned && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
        violations.push({
          rule: `posture.${name}.owner`,
          actual: `uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`,
          limit: 'owned by root, not writable by group or others',
          message: `${file} could be replaced by a non-root user`,
          hint: `chown root:root ${file} && chmod go-w ${file}`,
        });
      }
      if (rule?.minVersion && !(entry.version !== 'unknown' && versionAtLeast(entry.version, rule.minVersion))) {
        violations.push({ rule: `posture.${name}.minVersion`, actual: entry.version, limit: rule.minVersion, message: `${name} ${entry.version} is older than the minimum ${rule.minVersion}`, hint: `upgrade ${name}` });
      }
      if (rule?.sha256 && rule.sha256 !== entry.sha256) {
        violations.push({
          rule: `posture.${name}.sha256`,
          actual: entry.sha256,
          limit: rule.sha256,
          message: `${file} does not match the pinned sha256`,
          hint: 'the binary changed since it was pinned: check the package, then re-pin with `zt-ffmpeg policy pin`',
        });
      }
    }),
  );
  if (dirty) await writeCache(cacheFile, cache);
  return { binaries, violations, missing };
}

export function postureError(r: PostureReport): ZtError {
  const first = r.violations[0];
  return new ZtError(r.missing.length > 0 ? 'binary-unavailable' : 'posture-failed', `posture check failed: ${r.violations.map((v) => v.message).join('; ')}`, {
    hint: first?.hint,
    violations: r.violations,
  });
}
