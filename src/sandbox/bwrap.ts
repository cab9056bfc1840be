/**
 * Pure construction of the bubblewrap command line. Every namespace is unshared (so there is
 * no network at all), the filesystem is a minimal read-only view of /usr plus the few /etc
 * files the dynamic loader needs, the input is bound read-only from an already-open
 * descriptor, only the private job directory is writable, the environment is cleared, all
 * capabilities are dropped, and the process runs as nobody in its own session.
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

export interface BwrapSpec {
  /** fd (in the child) of the input file, bound read-only at /in/<name>. */
  readonly inputFd?: number;
  readonly inputName?: string;
  /** Host path of the private job directory, bound read-write at /job. */
  readonly jobDir?: string;
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
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  /**
   * Font directories to hide when fonts are not granted: only those that exist on the host
   * (bwrap cannot create a mount point inside the read-only /usr). Default: none.
   */
  readonly hideFontDirs?: readonly string[];
  /** Environment inside the sandbox (after --clearenv). */
  readonly env: Readonly<Record<string, string>>;
  readonly command: readonly string[];
}

export const SANDBOX_INPUT_DIR = '/in';
export const SANDBOX_JOB_DIR = '/job';
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
/** Size of the empty tmpfs that hides a font directory. */
const HIDE_TMPFS_BYTES = 4096;

export function buildBwrapArgs(spec: BwrapSpec): string[] {
  const a: string[] = [
    '--unshare-all',
    '--unshare-user',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--hostname', 'sandbox',
    '--die-with-parent',
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
  a.push('--proc', '/proc', '--dev', '/dev');
  a.push('--ro-bind-try', SYSFS_TOPOLOGY, SYSFS_TOPOLOGY);
  if (spec.grants.gpu) a.push('--dev-bind-try', '/dev/dri', '/dev/dri');
  a.push('--size', String(spec.tmpfsBytes), '--tmpfs', '/tmp');
  if (spec.inputFd !== undefined) {
    a.push('--dir', SANDBOX_INPUT_DIR, '--ro-bind-fd', String(spec.inputFd), `${SANDBOX_INPUT_DIR}/${spec.inputName ?? 'input'}`);
  }
  if (spec.jobDir !== undefined) a.push('--bind', spec.jobDir, SANDBOX_JOB_DIR, '--chdir', SANDBOX_JOB_DIR);
  else a.push('--chdir', '/tmp');
  a.push('--remount-ro', '/');
  for (const [k, v] of Object.entries(spec.env)) a.push('--setenv', k, v);
  if (spec.seccompFd !== undefined) a.push('--seccomp', String(spec.seccompFd));
  if (spec.infoFd !== undefined) a.push('--info-fd', String(spec.infoFd));
  if (spec.jsonStatusFd !== undefined) a.push('--json-status-fd', String(spec.jsonStatusFd));
  a.push('--', ...spec.command);
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
