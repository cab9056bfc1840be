/**
 * bin/load-cli.cjs: V8's code cache is code, so it is used only when made from exactly the
 * source being loaded and written by no one but the code's owner (real files, real modes, a
 * real second uid).
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { chmod, chown, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { execFileSync } from 'node:child_process';

const { trustedCache } = createRequire(import.meta.url)('../../bin/load-cli.cjs') as {
  trustedCache(file: string, owner: number, source: string | Buffer): { data?: Buffer; reason?: string };
};

const SOURCE = 'module.exports = { main: async () => 0 };\n';
const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
const v8Data = (): Buffer => new vm.Script(SOURCE).createCachedData();

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-cache-'));
  await chmod(dir, 0o755);
  file = path.join(dir, 'bundle', 'cli.cjs');
  await mkdir(path.dirname(file), { mode: 0o755 });
  await writeFile(file, SOURCE, { mode: 0o644 });
  await writeFile(`${file}.cache`, Buffer.concat([Buffer.from(digest(SOURCE)), v8Data()]), { mode: 0o644 });
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('the code cache is trusted like a key file', () => {
  it('is used when made from this source, owned by the code\'s owner, and written by no one else', () => {
    const r = trustedCache(file, process.getuid?.() ?? 0, SOURCE);
    expect(r.reason).toBeUndefined();
    expect(r.data?.length).toBeGreaterThan(0);
    // The loader hands over the file's bytes, not its text: the same digest.
    expect(trustedCache(file, process.getuid?.() ?? 0, Buffer.from(SOURCE, 'utf8')).data).toEqual(r.data);
    expect(trustedCache(file, 0, Buffer.from(SOURCE.replace('0', '1'), 'utf8'))).toEqual({ reason: 'made from another source' });
  });

  it('made from another source (even of the same length): ignored', () => {
    const other = SOURCE.replace('0', '1');
    expect(other.length).toBe(SOURCE.length);
    expect(trustedCache(file, 0, other)).toEqual({ reason: 'made from another source' });
  });

  it('writable by group or others, or owned by another user: ignored', async () => {
    await chmod(`${file}.cache`, 0o664);
    expect(trustedCache(file, 0, SOURCE).reason).toMatch(/mode 664: writable by others/);
    await chmod(`${file}.cache`, 0o644);
    await chown(`${file}.cache`, 65534, 65534);
    expect(trustedCache(file, 0, SOURCE).reason).toMatch(/owned by uid 65534/);
  });

  it('a directory above it that others can write (not sticky): ignored; a sticky one (/tmp) is fine', async () => {
    await chmod(path.dirname(file), 0o777);
    expect(trustedCache(file, 0, SOURCE).reason).toMatch(/writable by others than uid 0/);
    await chmod(path.dirname(file), 0o1777);
    expect(trustedCache(file, 0, SOURCE).reason).toBeUndefined();
  });

  it('a symbolic link planted as the cache, or a FIFO: never followed, never blocks', async () => {
    const real = path.join(dir, 'elsewhere.cache');
    await writeFile(real, Buffer.concat([Buffer.from(digest(SOURCE)), v8Data()]), { mode: 0o644 });
    await rm(`${file}.cache`);
    await symlink(real, `${file}.cache`);
    expect(trustedCache(file, 0, SOURCE).reason).toBe('ELOOP');
    await rm(`${file}.cache`);
    execFileSync('/usr/bin/mkfifo', [`${file}.cache`], { timeout: 10_000 });
    expect(trustedCache(file, 0, SOURCE).reason).toBe('not a regular file');
  });
});

describe('a second name for the cache', () => {
  it('a cache with another hard link is ignored', async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'zt-cache-'));
    try {
      await chmod(d, 0o755);
      const f = path.join(d, 'cli.cjs');
      await writeFile(f, SOURCE, { mode: 0o644 });
      await writeFile(`${f}.cache`, Buffer.concat([Buffer.from(digest(SOURCE)), v8Data()]), { mode: 0o644 });
      await link(`${f}.cache`, path.join(d, 'other-name'));
      expect(trustedCache(f, 0, SOURCE).reason).toBe('2 links');
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('the built bundle', () => {
  it('is ASCII, so the loader decodes it as Latin-1 (a plain copy) and V8 accepts the cache the build made for it', async () => {
    const { readFileSync } = await import('node:fs');
    const { isAscii } = await import('node:buffer');
    const bundle = path.join(import.meta.dirname, '..', '..', 'dist', 'bundle', 'cli.cjs');
    const bytes = readFileSync(bundle);
    expect(isAscii(bytes)).toBe(true);
    const r = trustedCache(bundle, process.getuid?.() ?? 0, bytes);
    expect(r.reason).toBeUndefined();
    const Module = (await import('node:module')).default;
    const script = new vm.Script(Module.wrap(bytes.toString('latin1')), { filename: bundle, cachedData: r.data });
    expect(script.cachedDataRejected).toBe(false);
  });
});
