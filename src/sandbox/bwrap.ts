/**
 * Pure construction of the bubblewrap command line. Every namespace is unshared (so there is
 * no network at all), the filesystem is a minimal read-only view of /usr plus the few /etc
 * files the dynamic loader needs, the input is bound read-only from an already-open
 * descriptor, only the private job directory is writable, the environment is cleared, all
 * capabilities are dropped, and the process runs as nobody in its own session.
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
  readonly tmpfsBytes: number;
  readonly grants: { readonly fonts: boolean; readonly gpu: boolean };
  /** Environment inside the sandbox (after --clearenv). */
  readonly env: Readonly<Record<string, string>>;
  readonly command: readonly string[];
}

export const SANDBOX_INPUT_DIR = '/in';
export const SANDBOX_JOB_DIR = '/job';
export const SANDBOX_UID = 65534;

/** /etc files the dynamic loader and the ffmpeg libraries read. Bound only when they exist. */
export const ETC_FILES = ['/etc/ld.so.cache', '/etc/alternatives', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime'];

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
  if (spec.grants.fonts) a.push('--ro-bind-try', '/etc/fonts', '/etc/fonts', '--ro-bind-try', '/usr/share/fonts', '/usr/share/fonts');
  a.push('--proc', '/proc', '--dev', '/dev');
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
