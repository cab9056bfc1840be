/**
 * The bubblewrap command line (pure, golden-style assertions) and, for the grants, what the
 * real sandbox lets a process see.
 */
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { buildBwrapArgs, sandboxEnv, FONT_DIRS, PROC_MASKED_DIRS, SYSFS_TOPOLOGY, type BwrapSpec } from '../../src/sandbox/bwrap.js';
import { sandboxFds, childDescriptors, supervise, sandboxCommandLines, shellQuote, CHILD_FD, type SupervisedRun } from '../../src/sandbox/supervise.js';

const MiB = 1048576;
const base: BwrapSpec = {
  inputFd: 3,
  inputName: 'input.mp4',
  seccompFd: 5,
  binaryFd: 6,
  maskProc: { dirs: ['/proc/sys', '/proc/irq'], files: ['/proc/kcore', '/proc/sysrq-trigger'] },
  tmpfsBytes: 64 * MiB,
  grants: { fonts: false, gpu: false },
  hideFontDirs: ['/usr/share/fonts'],
  env: sandboxEnv(),
  command: ['/usr/bin/ffmpeg', '-version'],
};

/** Pairs of (option, operand...) are easier to assert as joined text. */
const text = (a: readonly string[]): string => a.join(' ');

describe('buildBwrapArgs', () => {
  it('unshares everything, drops capabilities, clears the environment, dies with its parent, runs in a new session as nobody', () => {
    const t = text(buildBwrapArgs(base));
    for (const f of ['--unshare-all', '--unshare-user', '--uid 65534', '--gid 65534', '--die-with-parent', '--new-session', '--cap-drop ALL', '--clearenv']) expect(t).toContain(f);
    // No --share-net: no network at all.
    expect(t).not.toContain('--share-net');
  });
  it('binds /usr and the loader files read-only, the input and the binary read-only from their fds, no host directory writable, then the root read-only', () => {
    const a = buildBwrapArgs(base);
    const t = text(a);
    expect(t).toContain('--ro-bind /usr /usr');
    expect(t).toContain('--ro-bind-try /etc/ld.so.cache /etc/ld.so.cache');
    expect(t).toContain('--ro-bind-fd 3 /in/input.mp4');
    // The binary posture checked, over its own path.
    expect(t).toContain('--ro-bind-fd 6 /usr/bin/ffmpeg');
    expect(t).toContain(`--size ${64 * MiB} --tmpfs /tmp`);
    expect(t).toContain('--chdir /tmp');
    expect(t).toContain('--seccomp 5');
    // Nothing of the host is bound writable: the output is an inherited descriptor (fd 4).
    expect(a.filter((x) => x === '--bind' || x === '--bind-fd' || x === '--bind-try')).toEqual([]);
    const rootRo = a.findIndex((x, i) => x === '--remount-ro' && a[i + 1] === '/');
    expect(rootRo).toBeGreaterThan(a.indexOf('--ro-bind-fd'));
    // The command comes last, after --.
    expect(a.slice(-3)).toEqual(['--', '/usr/bin/ffmpeg', '-version']);
    // No host /etc beyond the loader files, no /home, no /var, no /run, no /job.
    expect(a.filter((x) => /^\/(home|root|run|var|job)\b/.test(x))).toEqual([]);
  });
  it('bounds every writable tmpfs: /dev/shm and /tmp by tmpfsMiB, /dev itself read-only after set-up', () => {
    const a = buildBwrapArgs(base);
    const t = text(a);
    expect(t).toContain(`--dev /dev --size ${64 * MiB} --tmpfs /dev/shm`);
    const devRo = a.findIndex((x, i) => x === '--remount-ro' && a[i + 1] === '/dev');
    expect(devRo).toBeGreaterThan(a.indexOf('/dev/shm'));
    // Every --tmpfs has a --size right before it.
    a.forEach((x, i) => {
      if (x === '--tmpfs') expect(a[i - 2]).toBe('--size');
    });
  });
  it('masks what containers mask in /proc: directories as empty read-only tmpfs, files as /dev/null', () => {
    const t = text(buildBwrapArgs(base));
    expect(t).toContain('--size 4096 --tmpfs /proc/sys --remount-ro /proc/sys');
    expect(t).toContain('--size 4096 --tmpfs /proc/irq --remount-ro /proc/irq');
    expect(t).toContain('--ro-bind /dev/null /proc/kcore');
    expect(t).toContain('--ro-bind /dev/null /proc/sysrq-trigger');
    expect(PROC_MASKED_DIRS).toContain('/proc/sys');
  });
  it('binds the CPU/NUMA topology read-only so that thread pools (x265) size themselves', () => {
    expect(text(buildBwrapArgs(base))).toContain(`--ro-bind-try ${SYSFS_TOPOLOGY} ${SYSFS_TOPOLOGY}`);
  });
  it('grants nothing by default: fonts hidden under an empty read-only tmpfs, no /dev/dri', () => {
    const t = text(buildBwrapArgs(base));
    expect(t).toContain('--tmpfs /usr/share/fonts --remount-ro /usr/share/fonts');
    expect(t).not.toContain('/etc/fonts');
    expect(t).not.toContain('/dev/dri');
  });
  it('the fonts grant binds the font configuration read-only and hides nothing', () => {
    const t = text(buildBwrapArgs({ ...base, grants: { fonts: true, gpu: false } }));
    expect(t).toContain('--ro-bind-try /etc/fonts /etc/fonts');
    expect(t).not.toContain('--tmpfs /usr/share/fonts');
    expect(t).not.toContain('/dev/dri');
  });
  it('the gpu grant binds the DRM render nodes', () => {
    const t = text(buildBwrapArgs({ ...base, grants: { fonts: false, gpu: true } }));
    expect(t).toContain('--dev-bind-try /dev/dri /dev/dri');
  });
  it('the environment inside is only what we set', () => {
    const a = buildBwrapArgs(base);
    const set: string[] = [];
    a.forEach((x, i) => {
      if (x === '--setenv') set.push(a[i + 1]!);
    });
    expect(set.sort()).toEqual(Object.keys(sandboxEnv()).sort());
  });
});

describe('the command lines shown by --dry-run', () => {
  const run: SupervisedRun = {
    tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
    command: ['/usr/bin/ffmpeg', '-i', "/in/it's.mp4"],
    tmpfsBytes: MiB,
    grants: { fonts: false, gpu: false },
    rlimits: { addressSpaceBytes: MiB, cpuSeconds: 5, fileSizeBytes: MiB, openFiles: 16 },
    wallMs: 1000,
  };
  it('puts the input, the output and the binary on fixed child fds (gaps left empty), the seccomp program on stdin', () => {
    const fullRun = { ...run, inputFd: 20, output: { fd: 21, name: 'output.mp4' }, seccompProgram: Buffer.alloc(8), binaryFd: 22 };
    const full = sandboxFds(fullRun);
    expect(full).toEqual({ seccomp: 0, input: 3, output: 4, binary: 6, status: 8 });
    expect(childDescriptors(fullRun, full)).toEqual([20, 21, 'ignore', 22, 'ignore', 'pipe']);
    const noOutput = { ...run, inputFd: 20, seccompProgram: Buffer.alloc(8) };
    expect(sandboxFds(noOutput)).toEqual({ seccomp: 0, input: 3, status: 8 });
    expect(childDescriptors(noOutput, sandboxFds(noOutput))).toEqual([20, 'ignore', 'ignore', 'ignore', 'ignore', 'pipe']);
    // Degraded: no seccomp program, no binary bind, no status pipe; the input and the output stay on 3 and 4.
    const degraded = { ...run, tools: { bwrap: undefined, prlimit: '/usr/bin/prlimit', degraded: true }, inputFd: 20, output: { fd: 21, name: 'o' }, seccompProgram: Buffer.alloc(8), binaryFd: 22 };
    expect(sandboxFds(degraded)).toEqual({ input: 3, output: 4 });
    expect(childDescriptors(degraded, sandboxFds(degraded))).toEqual([20, 21]);
    expect(CHILD_FD).toEqual({ seccomp: 0, input: 3, output: 4, prlimit: 5, binary: 6, progress: 7, status: 8, loader: 9 });
  });
  it('a task ceiling runs the command under prlimit inside the sandbox, prlimit bound from the descriptor posture checked', () => {
    const limited = { ...run, tools: { ...run.tools, prlimitFd: 23 }, rlimits: { ...run.rlimits, tasks: 48 }, inputFd: 20, seccompProgram: Buffer.alloc(8), binaryFd: 22 };
    const fds = sandboxFds(limited);
    expect(fds).toEqual({ seccomp: 0, input: 3, prlimit: 5, binary: 6, status: 8 });
    expect(childDescriptors(limited, fds)).toEqual([20, 'ignore', 23, 22, 'ignore', 'pipe']);
    const l = sandboxCommandLines(limited, fds);
    // The outer prlimit sets no RLIMIT_NPROC: there it would count every process of the host user.
    expect(l.prlimit.some((w) => w.startsWith('--nproc'))).toBe(false);
    const bw = l.bwrap ?? [];
    const bind = bw.findIndex((w, i) => w === '--ro-bind-fd' && bw[i + 1] === '5');
    expect(bw.slice(bind, bind + 3)).toEqual(['--ro-bind-fd', '5', '/usr/bin/prlimit']);
    expect(bw.slice(-4)).toEqual(['--', '/usr/bin/prlimit', '--nproc=48:48', '--']);
    expect(l.command).toEqual(run.command);
    // Degraded (no bwrap, no user namespace): no ceiling, the command runs as before.
    const degraded = { ...limited, tools: { ...limited.tools, bwrap: undefined, degraded: true } };
    expect(sandboxCommandLines(degraded, sandboxFds(degraded)).argv.some((w) => w.startsWith('--nproc'))).toBe(false);
  });
  it('a proven load order starts a checked binary by its loader, bound from fd 9; never in degraded mode, with the gpu grant or for an unchecked binary', () => {
    const loader = { path: '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', fd: 24, preload: ['/lib/x86_64-linux-gnu/libc.so.6'] };
    const ordered = { ...run, inputFd: 20, binaryFd: 22, loader };
    const fds = sandboxFds(ordered);
    expect(fds.loader).toBe(CHILD_FD.loader);
    expect(childDescriptors(ordered, fds)).toEqual([20, 'ignore', 'ignore', 22, 'ignore', 'pipe', 24]);
    const l = sandboxCommandLines(ordered, fds);
    expect(l.bwrap?.join(' ')).toContain(`--ro-bind-fd 9 ${loader.path}`);
    expect(l.bwrap?.slice(-3)).toEqual([loader.path, '--preload', '/lib/x86_64-linux-gnu/libc.so.6']);
    expect(l.command).toEqual(run.command);
    expect(sandboxFds({ ...ordered, tools: { bwrap: undefined, prlimit: '/usr/bin/prlimit', degraded: true } }).loader).toBeUndefined();
    expect(sandboxFds({ ...ordered, grants: { fonts: false, gpu: true } }).loader).toBeUndefined();
    const unchecked = { ...ordered };
    delete (unchecked as { binaryFd?: number }).binaryFd;
    expect(sandboxFds(unchecked).loader).toBeUndefined();
    expect(sandboxCommandLines(unchecked).argv).not.toContain('--preload');
  });
  it('splits prlimit, bwrap and the command, and together they are the exact argv', () => {
    const l = sandboxCommandLines(run, { input: 3, seccomp: 0 });
    expect(l.prlimit[0]).toBe('/usr/bin/prlimit');
    expect(l.prlimit.at(-1)).toBe('--');
    expect(l.bwrap?.[0]).toBe('/usr/bin/bwrap');
    expect(l.bwrap?.at(-1)).toBe('--');
    expect(l.command).toEqual(run.command);
    expect([...l.prlimit, ...(l.bwrap ?? []), ...l.command]).toEqual(l.argv);
    expect(l.shell).toContain(`'/in/it'\\''s.mp4'`);
  });
  it('degraded mode has no bwrap line', () => {
    const l = sandboxCommandLines({ ...run, tools: { bwrap: undefined, prlimit: '/usr/bin/prlimit', degraded: true } }, {});
    expect(l.bwrap).toBeUndefined();
    expect(l.command).toEqual(run.command);
  });
  it('shellQuote leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('--as=1048576')).toBe('--as=1048576');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("scale='min(640,iw)':-2")).toBe(`'scale='\\''min(640,iw)'\\'':-2'`);
  });
});

describe('the real sandbox', () => {
  const run = (command: string[], grants = { fonts: false, gpu: false }): ReturnType<typeof supervise> =>
    supervise({
      tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
      command,
      tmpfsBytes: MiB,
      grants,
      rlimits: { addressSpaceBytes: 256 * MiB, cpuSeconds: 5, fileSizeBytes: MiB, openFiles: 64 },
      wallMs: 10_000,
    });
  const fontDir = FONT_DIRS.find((d) => existsSync(d));

  it.runIf(fontDir !== undefined)('hides the fonts without the grant and shows them with it', async () => {
    const without = await run(['/usr/bin/sh', '-c', `ls -A ${fontDir}; ls /etc/fonts 2>/dev/null | head -1; echo end`]);
    expect(without.exitCode, without.stderr).toBe(0);
    expect(without.stdout.trim()).toBe('end');
    const withFonts = await run(['/usr/bin/sh', '-c', `ls -A ${fontDir}`], { fonts: true, gpu: false });
    expect(withFonts.exitCode, withFonts.stderr).toBe(0);
    expect(withFonts.stdout.trim()).not.toBe('');
  });

  it('sees the CPU topology, read-only', async () => {
    const r = await run(['/usr/bin/sh', '-c', 'cat /sys/devices/system/cpu/online; touch /sys/devices/system/cpu/x 2>&1 || echo refused']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+(?:[-,]\d+)*\n/);
    expect(r.stdout).toMatch(/refused/);
  });
});
