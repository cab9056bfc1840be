/**
 * The load order ffprobe and ffmpeg start with (src/posture/loader): the pure reading of the
 * loader's account and the conflict closure, the ELF readers on real system files, and the
 * whole check on the real ffprobe: the order it keeps changes no binding and no output, its
 * cache is re-checked, and a tampered cache is not believed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile, chmod, chown } from 'node:fs/promises';
import { existsSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busiestDefiners, compareOrders, inOrder, parseLoadList, referencedNames } from '../../src/posture/loader/search-order.js';
import { elfDynamicSymbols, elfInterpreter, type DynamicSymbols } from '../../src/posture/loader/elf.js';
import { loaderOrderFor, preloadableName, LOADER_ORDER_CACHE_FILE } from '../../src/posture/loader/order.js';
import { buildBwrapArgs, sandboxEnv } from '../../src/sandbox/bwrap.js';
import { loaderStartFailed, preloadsStillThere, supervise } from '../../src/sandbox/supervise.js';
import { sandboxSpec } from '../helpers/supervise.js';
import { makeSample } from '../helpers/media.js';

const sym = (defined: string[], wanted: string[] = []): DynamicSymbols => ({ defined: new Set(defined), wanted, searchPath: false });

describe('the search order (pure)', () => {
  it('reads `ld.so --list`: paths in order, the vDSO left out, a missing library a problem', () => {
    const text = ['\tlinux-vdso.so.1 (0x00007ffd1b7f2000)', '\tliba.so.1 => /lib/liba.so.1 (0x00007f0a1c000000)', '\t/lib/libpre.so.2 (0x00007f0a1b000000)', '\t/lib64/ld-linux-x86-64.so.2 => /proc/self/fd/3 (0x00007f0a1d000000)', ''].join('\n');
    expect(parseLoadList(text)).toEqual(['/lib/liba.so.1', '/lib/libpre.so.2', '/proc/self/fd/3']);
    expect(parseLoadList('\tlibgone.so.1 => not found\n')).toEqual({ problem: 'the loader listed "libgone.so.1 => not found"' });
  });

  const table: Record<string, DynamicSymbols> = {
    '/usr/bin/prog': sym([], ['memcpy', 'frexp', 'a_init']),
    '/lib/liba.so.1': sym(['a_init'], ['memcpy', 'frexp']),
    '/lib/libm.so.6': sym(['frexp', 'sin', '_end'], ['malloc']),
    '/lib/libc.so.6': sym(['memcpy', 'frexp', 'malloc', '_end'], ['_dl_argv']),
    '/lib/ld.so': sym(['_dl_argv', 'malloc', '_end'], []),
  };
  const symbols = (o: string): DynamicSymbols | undefined => table[o];
  const before = ['/lib/liba.so.1', '/lib/libm.so.6', '/lib/libc.so.6', '/lib/ld.so'];
  const referenced = referencedNames(['/usr/bin/prog', ...before], symbols);

  it('guesses the objects most references are bound to, never an excluded one, in the original order', () => {
    const chosen = busiestDefiners('/usr/bin/prog', before, symbols, 1, new Set(['/lib/ld.so']));
    expect([...chosen]).toEqual(['/lib/libc.so.6']);
    expect(inOrder(new Set(['/lib/libc.so.6', '/lib/liba.so.1']), before)).toEqual(['/lib/liba.so.1', '/lib/libc.so.6']);
  });

  it('finds that libc ahead of libm would take frexp, and names libm to move up too', () => {
    const libcFirst = ['/lib/libc.so.6', '/lib/liba.so.1', '/lib/libm.so.6', '/lib/ld.so'];
    expect(referenced.has('_end')).toBe(false);
    expect(compareOrders(before, libcFirst, symbols, referenced)).toEqual({ same: false, overtaken: new Set(['/lib/libm.so.6']) });
    const both = ['/lib/libm.so.6', '/lib/libc.so.6', '/lib/liba.so.1', '/lib/ld.so'];
    // _end, which every object defines and no one refers to, does not count.
    expect(compareOrders(before, both, symbols, referenced)).toEqual({ same: true });
    // malloc: libc before the loader in both; moving the loader first would overtake libc.
    expect(compareOrders(before, ['/lib/ld.so', ...before.slice(0, 3)], symbols, referenced)).toEqual({ same: false, overtaken: new Set(['/lib/libc.so.6']) });
  });

  it('refuses orders that load other objects, list one twice, or hold an object whose symbols are unknown', () => {
    expect(compareOrders(before, before.slice(1), symbols, referenced)).toMatchObject({ same: false, problem: 'the two orders load different objects' });
    expect(compareOrders(before, [...before.slice(0, 3), '/lib/other.so'], symbols, referenced)).toMatchObject({ same: false, problem: 'the two orders load different objects' });
    expect(compareOrders([...before, '/lib/liba.so.1'], before, symbols, referenced)).toMatchObject({ same: false, problem: 'an object is listed twice' });
    expect(compareOrders([...before, '/lib/x.so'], [...before, '/lib/x.so'], symbols, referenced)).toMatchObject({ same: false, problem: 'the symbols of /lib/x.so are unknown' });
  });

  it('accepts only absolute, normal .so names without the separators of --preload', () => {
    expect(preloadableName('/lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
    expect(preloadableName('/lib/x86_64-linux-gnu/libdb-5.3.so')).toBe(true);
    for (const bad of ['libc.so.6', '/lib/../tmp/x.so', '/lib/a b.so', '/lib/a:b.so', '/lib/libc.so.6.txt', '/tmp/evil']) expect(preloadableName(bad)).toBe(false);
  });
});

describe('ELF readers (real system files)', () => {
  const ffprobe = '/usr/bin/ffprobe';

  it("read the program interpreter ffprobe names, and nothing from a file that is not ELF", async () => {
    const h = await open(ffprobe, 'r');
    const head = Buffer.alloc(4096);
    await h.read(head, 0, head.length, 0);
    await h.close();
    const interp = elfInterpreter(head);
    expect(interp).toMatch(/^\/.*ld-linux.*\.so\.\d+$/);
    expect(existsSync(interp as string)).toBe(true);
    expect(elfInterpreter(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(128, ' ')))).toBeUndefined();
    // A program header table pointing past the bytes given: no answer, no throw.
    const cut = Buffer.from(head.subarray(0, 64));
    expect(elfInterpreter(cut)).toBeUndefined();
  });

  it('tell a program that names its own search path (libpulse has a RUNPATH) from one that does not (ffprobe)', async () => {
    const tables = async (file: string): Promise<DynamicSymbols | undefined> => {
      const h = await open(file, 'r');
      try {
        return await elfDynamicSymbols(async (pos, len) => {
          const b = Buffer.alloc(len);
          const { bytesRead } = await h.read(b, 0, len, pos);
          return b.subarray(0, bytesRead);
        });
      } finally {
        await h.close();
      }
    };
    expect((await tables(ffprobe))?.searchPath).toBe(false);
    const pulse = realpathSync('/lib/x86_64-linux-gnu/libpulse.so.0');
    expect((await tables(pulse))?.searchPath).toBe(true);
  });

  it('list what libc and libm define: both have frexp, libm has no memcpy', async () => {
    const syms = async (lib: string): Promise<ReadonlySet<string> | undefined> => {
      const h = await open(lib, 'r');
      try {
        return (await elfDynamicSymbols(async (pos, len) => {
          const b = Buffer.alloc(len);
          const { bytesRead } = await h.read(b, 0, len, pos);
          return b.subarray(0, bytesRead);
        }))?.defined;
      } finally {
        await h.close();
      }
    };
    const libc = await syms(realpathSync('/lib/x86_64-linux-gnu/libc.so.6'));
    const libm = await syms(realpathSync('/lib/x86_64-linux-gnu/libm.so.6'));
    expect(libc?.has('memcpy')).toBe(true);
    expect(libc?.has('frexp')).toBe(true);
    expect(libm?.has('frexp')).toBe(true);
    expect(libm?.has('memcpy')).toBe(false);
    // An undefined (imported) symbol is not a definition: libm imports from libc.
    expect(libm?.has('__errno_location')).toBe(false);
  });
});

describe('bwrap starts the command by its loader', () => {
  it('binds the checked loader over its path and runs `loader --preload a:b command…` after the task ceiling', () => {
    const a = buildBwrapArgs({
      binaryFd: 6,
      tmpfsBytes: 1 << 20,
      grants: { fonts: false, gpu: false },
      env: sandboxEnv(),
      command: ['/usr/bin/ffprobe', '-version'],
      taskLimit: { prlimit: '/usr/bin/prlimit', prlimitFd: 5, tasks: 64 },
      loader: { path: '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', fd: 9, preload: ['/lib/x86_64-linux-gnu/libm.so.6', '/lib/x86_64-linux-gnu/libc.so.6'] },
    });
    const t = a.join(' ');
    expect(t).toContain('--ro-bind-fd 9 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    const tail = a.slice(a.indexOf('--') + 1);
    expect(tail).toEqual(['/usr/bin/prlimit', '--nproc=64:64', '--', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '--preload', '/lib/x86_64-linux-gnu/libm.so.6:/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/ffprobe', '-version']);
    // The bind comes before the root is made read-only, like the binary's.
    expect(a.indexOf('--ro-bind-fd')).toBeLessThan(a.lastIndexOf('--remount-ro'));
  });
});

describe('the load order of the real ffprobe', () => {
  let dir: string;
  let input: string;
  const binary = '/usr/bin/ffprobe';
  const key = 'test|/usr/bin/ffprobe';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zt-loader-'));
    input = await makeSample(dir, 'h264-aac.mp4');
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const find = async (stateDir: string) => {
    const h = await open(binary, 'r');
    const r = await loaderOrderFor(h, key, { stateDir });
    await h.close();
    if (r.ok) await r.handle.close();
    return r;
  };

  it('keeps an order with libc in it, proven by the loader, then reads it from the cache', async () => {
    const stateDir = path.join(dir, 'state1');
    const first = await find(stateDir);
    expect(first.ok, first.ok ? '' : first.reason).toBe(true);
    if (!first.ok) return;
    expect(first.cached).toBe(false);
    expect(first.order.preload.some((p) => p.endsWith('/libc.so.6'))).toBe(true);
    expect(first.order.path).toBe(realpathSync(first.order.path));
    const second = await find(stateDir);
    expect(second.ok && second.cached).toBe(true);
    expect(second.ok && second.order.preload).toEqual(first.order.preload);
  }, 60_000);

  it("changes no binding, by the loader's own account of every one of them (LD_BIND_NOW, LD_DEBUG=bindings)", async () => {
    const r = await find(path.join(dir, 'state-bindings'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const account = (preload: readonly string[], tag: string): Map<string, string> => {
      const out = path.join(dir, `ld-${tag}`);
      execFileSync(r.order.path, [...(preload.length ? ['--preload', preload.join(':')] : []), binary, '-hide_banner', '-version'], {
        env: { PATH: '/usr/bin', LC_ALL: 'C', LD_BIND_NOW: '1', LD_DEBUG: 'bindings', LD_DEBUG_OUTPUT: out },
        timeout: 30_000,
        stdio: 'ignore',
      });
      const file = execFileSync('/bin/sh', ['-c', `ls ${out}.*`]).toString().trim();
      const text = execFileSync('/bin/cat', [file], { maxBuffer: 64 * 1024 * 1024 }).toString();
      const m = new Map<string, string>();
      for (const x of text.matchAll(/binding file (\S+) \[\d+\] to (\S+) \[\d+\]: ([^\n]+)/g)) m.set(`${x[1]}|${x[3]}`, x[2] as string);
      return m;
    };
    const plain = account([], 'plain');
    const ordered = account(r.order.preload, 'ordered');
    expect(plain.size).toBeGreaterThan(10_000);
    const moved = [...plain].filter(([k, v]) => ordered.get(k) !== v).map(([k, v]) => `${k}: ${v} -> ${ordered.get(k) ?? 'none'}`);
    expect(moved).toEqual([]);
    expect(ordered.size).toBe(plain.size);
    // And the check is not vacuous: libc alone first does move bindings (libm's frexp, C++ inlines).
    const libc = r.order.preload.filter((p) => p.endsWith('/libc.so.6'));
    const naive = account(libc, 'naive');
    expect([...plain].some(([k, v]) => naive.get(k) !== v)).toBe(true);
  }, 120_000);

  it('changes nothing ffprobe prints about a real file', async () => {
    const r = await find(path.join(dir, 'state2'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const args = ['-v', 'error', '-show_format', '-show_streams', '-show_entries', 'format_tags=:stream_tags=', '-of', 'json', input];
    const env = { PATH: '/usr/bin', LC_ALL: 'C' };
    const plain = execFileSync(binary, args, { env, timeout: 20_000 }).toString();
    const ordered = execFileSync(r.order.path, ['--preload', r.order.preload.join(':'), binary, ...args], { env, timeout: 20_000 }).toString();
    expect(JSON.parse(ordered)).toEqual(JSON.parse(plain));
  }, 60_000);

  it('does not believe a cache that names a library outside the system (a co-tenant planting its own), nor one others can write', async () => {
    const stateDir = path.join(dir, 'state3');
    const first = await find(stateDir);
    expect(first.ok).toBe(true);
    const file = path.join(stateDir, LOADER_ORDER_CACHE_FILE);
    const evil = path.join(dir, 'libevil.so.1');
    await writeFile(evil, 'not a library');
    await chmod(evil, 0o666);
    const pristine = await readFile(file, 'utf8');
    type Entries = { entries: Record<string, { preload: string[]; objects: Record<string, string> }> };
    // Only the preload list changed: the entry is not what the search found, so it is searched again.
    const planted = JSON.parse(pristine) as Entries;
    for (const e of Object.values(planted.entries)) e.preload = [evil, ...e.preload];
    await writeFile(file, JSON.stringify(planted));
    const again = await find(stateDir);
    expect(again.ok && !again.cached && !again.order.preload.includes(evil)).toBe(true);
    // A consistent forgery (the planted file among the objects, with its identity): refused on use.
    const forged = JSON.parse(pristine) as Entries;
    const st = statSync(evil);
    for (const e of Object.values(forged.entries)) {
      e.preload = [evil, ...e.preload];
      e.objects[evil] = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    }
    await writeFile(file, JSON.stringify(forged));
    const r = await find(stateDir);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(evil);
    // The same forgery in a file others may write is not read at all.
    await chmod(file, 0o666);
    const loose = await find(stateDir);
    expect(loose.ok && !loose.cached).toBe(true);
    // Nor in a file another user owns (nobody, 65534: a co-tenant's, mode 0600 like ours).
    await writeFile(file, JSON.stringify(forged), { mode: 0o600 });
    await chmod(file, 0o600);
    await chown(file, 65534, 65534);
    const theirs = await find(stateDir);
    expect(theirs.ok && !theirs.cached && !theirs.order.preload.includes(evil)).toBe(true);
  }, 60_000);

  it('checks again when an object it loads changed identity (ld.so.cache rebuilt, a library replaced)', async () => {
    const stateDir = path.join(dir, 'state4');
    expect((await find(stateDir)).ok).toBe(true);
    const file = path.join(stateDir, LOADER_ORDER_CACHE_FILE);
    const cache = JSON.parse(await readFile(file, 'utf8')) as { entries: Record<string, { objects: Record<string, string> }> };
    for (const e of Object.values(cache.entries)) {
      const libc = Object.keys(e.objects).find((o) => o.endsWith('/libc.so.6'));
      expect(libc).toBeDefined();
      if (libc) e.objects[libc] = '0:0:0:0:0';
    }
    await writeFile(file, JSON.stringify(cache));
    const r = await find(stateDir);
    expect(r.ok && r.cached).toBe(false);
  }, 60_000);

  // /etc/ld.so.preload is made to exist in a mount namespace of the test's own, never on the
  // host (every process there would load it). /etc there is a tmpfs whose entries are bind
  // mounts of the host's, so ld.so.cache and /etc/alternatives keep their identities: only the
  // preload file is new. The order is asked for by a child in that namespace, through the build.
  it.runIf(process.getuid?.() === 0 && existsSync('/usr/bin/unshare'))('uses no order where /etc/ld.so.preload exists: none found afresh, none taken from a cache made without it', async () => {
    const built = path.resolve('dist/posture/loader/order.js');
    expect(existsSync(built), 'run `npm run build` first').toBe(true);
    const hostEtc = path.join(dir, 'host-etc');
    const setup = [
      'set -e',
      'orig=$1; preload=$2; shift 2',
      'mkdir -p "$orig"',
      'mount --bind /etc "$orig"',
      'mount -t tmpfs -o size=1m,mode=755 tmpfs /etc',
      'for e in "$orig"/* "$orig"/.[!.]*; do',
      '  [ -e "$e" ] || [ -L "$e" ] || continue',
      '  n=/etc/${e##*/}',
      '  if [ -L "$e" ]; then cp -P "$e" "$n"; elif [ -d "$e" ]; then mkdir "$n"; mount --bind "$e" "$n"; else : > "$n"; mount --bind "$e" "$n"; fi',
      'done',
      'if [ -n "$preload" ]; then printf "%s\\n" "$preload" > /etc/ld.so.preload; fi',
      'exec "$@"',
    ].join('\n');
    const child = [
      "import { open } from 'node:fs/promises';",
      `import { loaderOrderFor } from ${JSON.stringify(built)};`,
      `const h = await open(${JSON.stringify(binary)}, 'r');`,
      `const r = await loaderOrderFor(h, ${JSON.stringify(key)}, { stateDir: process.argv[1] });`,
      "if (r.ok) await r.handle.close();",
      'process.stdout.write(JSON.stringify(r.ok ? { ok: true, cached: r.cached } : r));',
    ].join('\n');
    // `preload` empty: the same namespace without the file, which must change nothing.
    const inside = (stateDir: string, preload: string): { ok: boolean; cached?: boolean; reason?: string } =>
      JSON.parse(execFileSync('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', setup, 'sh', hostEtc, preload, process.execPath, '--input-type=module', '-e', child, stateDir], { timeout: 60_000, encoding: 'utf8' })) as { ok: boolean; cached?: boolean; reason?: string };
    const libm = realpathSync('/lib/x86_64-linux-gnu/libm.so.6');
    const stateDir = path.join(dir, 'state-preload');
    expect((await find(stateDir)).ok).toBe(true);
    // The control: the namespace alone keeps the cached order, so what follows is the file's doing.
    expect(inside(stateDir, '')).toEqual({ ok: true, cached: true });
    const hit = inside(stateDir, libm);
    expect(hit.ok, JSON.stringify(hit)).toBe(false);
    expect(hit.reason).toMatch(/\/etc\/ld\.so\.preload exists/);
    const fresh = inside(path.join(dir, 'state-preload-fresh'), libm);
    expect(fresh.ok, JSON.stringify(fresh)).toBe(false);
    expect(fresh.reason).toMatch(/\/etc\/ld\.so\.preload exists: the sandbox does not read it/);
    // Back on the host (no such file), an order is found again.
    const after = await find(stateDir);
    expect(after.ok, after.ok ? '' : after.reason).toBe(true);
    expect(existsSync('/etc/ld.so.preload'), 'the host never had the file').toBe(false);
  }, 120_000);
});

describe('a loader start that fails is run again as the command alone', () => {
  it('names what looks like the loader failing: exit 127 with nothing printed, or its ERROR line first; never a signal, a kill or a cancel', () => {
    const base = { exitCode: 0 as number | undefined, signal: undefined as string | undefined, stdout: '', stderr: '' };
    expect(loaderStartFailed(base)).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 127 })).toBe(true);
    expect(loaderStartFailed({ ...base, exitCode: 127, stdout: '{"streams": []}' })).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 0, stderr: "ERROR: ld.so: object '/lib/x.so' from --preload cannot be preloaded (cannot open shared object file): ignored.\n" })).toBe(true);
    // The loader's words after anything else are the probe's, not the loader's.
    expect(loaderStartFailed({ ...base, exitCode: 1, stderr: 'title: x\nERROR: ld.so: object x ignored.\n' })).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 1, stderr: 'Invalid data found when processing input\n' })).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 127, signal: 'SIGSEGV' })).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 127, killedFor: { rule: 'limits.wallSeconds', actual: 1, limit: 1, message: 'x' } as never })).toBe(false);
    expect(loaderStartFailed({ ...base, exitCode: 127, interrupted: 'SIGINT' })).toBe(false);
  });

  it('retries only on a host fact: a preload gone or no longer root\'s; the sandbox\'s words alone earn nothing', async () => {
    const loader = { path: realpathSync('/lib64/ld-linux-x86-64.so.2'), fd: -1 };
    expect(preloadsStillThere({ ...loader, preload: ['/lib/x86_64-linux-gnu/libc.so.6'] })).toBe(true);
    expect(preloadsStillThere({ ...loader, preload: ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libgone-zt.so.1'] })).toBe(false);
    const d = await mkdtemp(path.join(os.tmpdir(), 'zt-preload-'));
    const loose = path.join(d, 'libloose.so.1');
    await writeFile(loose, 'x');
    await chmod(loose, 0o666);
    expect(preloadsStillThere({ ...loader, preload: [loose] })).toBe(false);
    await rm(d, { recursive: true, force: true });
  });

  it('in the real sandbox: a preload that is gone since the check still gives ffprobe\'s answer, without the loader\'s complaint', async () => {
    const ffprobe = await open('/usr/bin/ffprobe', 'r');
    const h = await open(realpathSync('/lib64/ld-linux-x86-64.so.2'), 'r');
    try {
      // ffprobe maps its 215 libraries: more address space than the supervisor tests' default.
      const rlimits = { addressSpaceBytes: 1024 * 1048576, cpuSeconds: 30, fileSizeBytes: 1048576, openFiles: 64 };
      const r = await supervise(sandboxSpec(['/usr/bin/ffprobe', '-hide_banner', '-version'], { rlimits, binaryFd: ffprobe.fd, loader: { path: realpathSync('/lib64/ld-linux-x86-64.so.2'), fd: h.fd, preload: ['/lib/x86_64-linux-gnu/libgone-zt.so.1'] } }));
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^ffprobe version/);
      expect(r.stderr).not.toContain('ld.so');
    } finally {
      await h.close();
      await ffprobe.close();
    }
  }, 60_000);
});
