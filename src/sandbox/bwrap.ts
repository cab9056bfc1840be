/**
 * Pure construction of the bubblewrap command line. Every namespace is unshared (so there is
 * no network at all), the filesystem is a minimal read-only view of /usr plus the few /etc
 * files the dynamic loader needs, the input is bound read-only from an already-open
 * descriptor, the environment is cleared, all capabilities are dropped, and the process runs as
 * nobody in its own session (on the host: the dedicated sandbox user, see identity.ts).
 *
 * Assume the decoder is owned: every place it can write is bounded, and what it can reach of
 * the host is masked.
 * - The output is one file the host made in its private job directory, handed to ffmpeg as an
 *   inherited descriptor (supervise.ts: SANDBOX_OUTPUT_PATH) and bounded by RLIMIT_FSIZE. No
 *   host directory is bound at all, so the sandbox cannot create, rename, link or replace
 *   anything on the host's file system: no symlink, FIFO, directory or hard link can take the
 *   output's place, and the job cannot fill the output's disk.
 * - /tmp and /dev/shm are size-bounded tmpfs mounts; /dev and / are read-only after set-up.
 * - /proc/sys and the other host-global knobs containers mask are absent (empty read-only
 *   tmpfs), and the host-global files are /dev/null.
 * - The binary it runs is bound from the descriptor posture hashed, so the inode checked is
 *   the inode that runs.
 * - The command is the sandbox's pid 1 (--as-pid-1): bwrap leaves no reaper process of its own
 *   inside. Such a reaper keeps the caller's RLIMIT_NPROC, the sandbox can write its memory
 *   (/proc/1/mem: same user, dumpable), and bwrap takes the command's exit status from it. Now
 *   every task of the sandbox descends from the command (so the task ceiling, prlimit.ts,
 *   bounds them all), and the status bwrap reports is the kernel's, from waitpid(). ffmpeg never
 *   starts a process, so nothing is left for a reaper to do; the kernel ends the namespace when
 *   the command ends. As a namespace's init the command gets no default action for a signal the
 *   kernel does not force: see prlimit.ts for what that changes (SIGXCPU, SIGXFSZ).
 *
 * Capability grants are explicit and off by default:
 * - fonts: /etc/fonts and the font directories, read-only (drawtext, subtitle burn-in). /usr is
 *   bound whole, so without the grant the font directories under it are covered by empty,
 *   read-only tmpfs mounts: no font is reachable unless granted.
 * - gpu: the DRM render nodes (/dev/dri) for hardware encoders.
 * /sys/devices/system (CPU and NUMA topology, read-only) is always bound: x265 and other
 * thread pools size themselves from it and run single-threaded ("Failed to generate CPU mask")
 * without it.
 */

import { taskLimitArgs } from './prlimit.js';

export interface BwrapSpec {
  /** fd (in the child) of the input file, bound read-only at /in/<name>. */
  readonly inputFd?: number;
  readonly inputName?: string;
  /** fd (in the child) of the binary posture checked, bound read-only over its own path. */
  readonly binaryFd?: number;
  /**
   * Start the command by its dynamic loader (fd in the child, bound read-only over `path`) with
   * `preload` first: `ld.so --preload a:b:c command…` (src/posture/loader/order.ts).
   */
  readonly loader?: { readonly path: string; readonly fd: number; readonly preload: readonly string[] };
  /** fd (in the child) of the seccomp program, if any. */
  readonly seccompFd?: number;
  /** fd (in the child) bwrap writes {"child-pid": N} to. */
  readonly infoFd?: number;
  /**
   * fd (in the child) bwrap writes its status to as JSON lines: `{"child-pid": N, …}` once the
   * sandbox exists and `{"exit-code": N}` once the command, actually executed, has ended
   * (src/sandbox/exit-status.ts). bwrap closes it in the sandbox: the command cannot write it.
   */
  readonly jsonStatusFd?: number;
  /** Size of /tmp, and of /dev/shm. */
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  /**
   * Font directories to hide when fonts are not granted: only those that exist on the host
   * (bwrap cannot create a mount point inside the read-only /usr). Default: none.
   */
  readonly hideFontDirs?: readonly string[];
  /** The host-global /proc entries to mask that exist on this kernel (see PROC_MASKED_*). */
  readonly maskProc?: { readonly files: readonly string[]; readonly dirs: readonly string[] };
  /** Environment inside the sandbox (after --clearenv). */
  readonly env: Readonly<Record<string, string>>;
  readonly command: readonly string[];
  /**
   * Run the command under a task ceiling set inside the sandbox (RLIMIT_NPROC, see prlimit.ts):
   * `prlimit --nproc=N:N -- command`, prlimit bound from the descriptor posture checked.
   */
  readonly taskLimit?: { readonly prlimit: string; readonly prlimitFd?: number; readonly tasks: number };
}

export const SANDBOX_INPUT_DIR = '/in';
/** The sandbox's bounded scratch space (a tmpfs of tmpfsMiB): where raw arguments may name files. */
export const SANDBOX_SCRATCH_DIR = '/tmp';
export const SANDBOX_UID = 65534;

/** /etc files the dynamic loader and the ffmpeg libraries read. Bound only when they exist. */
export const ETC_FILES = ['/etc/ld.so.cache', '/etc/alternatives', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime'];

/** Font locations: bound read-only with the fonts grant, hidden without it. */
export const FONT_CONFIG_DIR = '/etc/fonts';
export const FONT_CACHE_DIR = '/var/cache/fontconfig';
/** Font directories under /usr (all of /usr is bound, so these are what the grant controls). */
export const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', '/usr/share/texmf/fonts'];
/** Read-only host topology that thread pools need. */
export const SYSFS_TOPOLOGY = '/sys/devices/system';
/** Size of the empty tmpfs that hides a font directory or a /proc directory. */
const HIDE_TMPFS_BYTES = 4096;

/**
 * What the container runtimes mask in /proc (runc's default masked and read-only paths):
 * host-global knobs (sysctls, sysrq, IRQ affinity, bus and driver settings) and host-global
 * information (kernel memory, keys, timers). Directories become empty read-only tmpfs mounts,
 * files are covered by /dev/null. A decoder needs none of them.
 */
export const PROC_MASKED_DIRS = ['/proc/sys', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/acpi', '/proc/scsi', '/proc/asound', '/proc/driver'];
export const PROC_MASKED_FILES = ['/proc/sysrq-trigger', '/proc/kcore', '/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats', '/proc/kallsyms', '/proc/kmsg', '/proc/kpagecount', '/proc/kpageflags', '/proc/kpagecgroup'];

export function buildBwrapArgs(spec: BwrapSpec): string[] {
  const a: string[] = [
    '--unshare-all',
    '--unshare-user',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--hostname', 'sandbox',
    '--die-with-parent',
    // No reaper of bwrap's own: the command is the sandbox's pid 1 (see above).
    '--as-pid-1',
    '--new-session',
    '--cap-drop', 'ALL',
    '--clearenv',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
  ];
  for (const f of ETC_FILES) a.push('--ro-bind-try', f, f);
  if (spec.grants.fonts) {
    // The font files themselves are under the read-only /usr; add their configuration and cache.
    a.push('--ro-bind-try', FONT_CONFIG_DIR, FONT_CONFIG_DIR, '--ro-bind-try', FONT_CACHE_DIR, FONT_CACHE_DIR);
  } else {
    for (const d of spec.hideFontDirs ?? []) a.push('--size', String(HIDE_TMPFS_BYTES), '--tmpfs', d, '--remount-ro', d);
  }
  a.push('--proc', '/proc');
  for (const d of spec.maskProc?.dirs ?? []) a.push('--size', String(HIDE_TMPFS_BYTES), '--tmpfs', d, '--remount-ro', d);
  for (const f of spec.maskProc?.files ?? []) a.push('--ro-bind', '/dev/null', f);
  // bwrap's /dev is an unbounded tmpfs: bound its shm, then make the rest read-only.
  a.push('--dev', '/dev', '--size', String(spec.tmpfsBytes), '--tmpfs', '/dev/shm');
  a.push('--ro-bind-try', SYSFS_TOPOLOGY, SYSFS_TOPOLOGY);
  if (spec.grants.gpu) a.push('--dev-bind-try', '/dev/dri', '/dev/dri');
  a.push('--remount-ro', '/dev');
  a.push('--size', String(spec.tmpfsBytes), '--tmpfs', '/tmp');
  if (spec.inputFd !== undefined) {
    a.push('--dir', SANDBOX_INPUT_DIR, '--ro-bind-fd', String(spec.inputFd), `${SANDBOX_INPUT_DIR}/${spec.inputName ?? 'input'}`);
  }
  a.push('--chdir', '/tmp');
  const binary = spec.command[0];
  if (spec.binaryFd !== undefined && binary !== undefined) a.push('--ro-bind-fd', String(spec.binaryFd), binary);
  if (spec.loader) a.push('--ro-bind-fd', String(spec.loader.fd), spec.loader.path);
  const tl = spec.taskLimit;
  if (tl?.prlimitFd !== undefined) a.push('--ro-bind-fd', String(tl.prlimitFd), tl.prlimit);
  // Everything else, the root included, is read-only: the only writable places are bounded.
  a.push('--remount-ro', '/');
  for (const [k, v] of Object.entries(spec.env)) a.push('--setenv', k, v);
  if (spec.seccompFd !== undefined) a.push('--seccomp', String(spec.seccompFd));
  if (spec.infoFd !== undefined) a.push('--info-fd', String(spec.infoFd));
  if (spec.jsonStatusFd !== undefined) a.push('--json-status-fd', String(spec.jsonStatusFd));
  const start = spec.loader ? [spec.loader.path, '--preload', spec.loader.preload.join(':')] : [];
  a.push('--', ...(tl ? taskLimitArgs(tl.prlimit, tl.tasks) : []), ...start, ...spec.command);
  return a;
}

/** The environment every sandboxed ffmpeg/ffprobe gets. Nothing is inherited. */
export function sandboxEnv(): Record<string, string> {
  return {
    PATH: '/usr/bin',
    HOME: '/tmp',
    LC_ALL: 'C',
    // Bound the glibc malloc arenas so a many-threaded encoder stays inside RLIMIT_AS.
    MALLOC_ARENA_MAX: '2',
  };
}
