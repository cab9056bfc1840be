/**
 * The seccomp profiles ffmpeg and ffprobe run under (as data: compile.ts turns them into
 * the classic-BPF program bwrap installs with `--seccomp FD`), and the public API.
 *
 * - `default`: a deny-list. Everything a transcoder never needs and that widens the
 *   kernel attack surface (network sockets, ptrace, mounts and namespaces, keyrings,
 *   bpf, perf, userfaultfd, io_uring, module loading, kexec, clock setting, TIOCSTI,
 *   ...) fails with EPERM; the rest is allowed.
 * - `strict`: an allow-list of exactly what bwrap's exec of the child, the dynamic
 *   loader, ffmpeg and ffprobe use to probe, decode, encode and mux (found by tracing
 *   real encodes and then proven by the e2e suite); everything else fails with EPERM.
 *
 * Refused calls return an errno instead of killing, so ffmpeg reports "Operation not
 * permitted" in its diagnostics (the monitor can see it) rather than dying silently.
 * Two exceptions: a filter for the wrong architecture kills the process (a syscall
 * number means something else there, so no verdict can be right), and clone3 returns
 * ENOSYS, so glibc falls back to clone(), whose flags a filter can inspect (clone3
 * passes them in memory, out of a filter's reach).
 *
 * Argument checks look at the low 32 bits only. That is exact for every argument we
 * inspect: the kernel truncates socket's domain, ioctl's cmd, prctl's option and
 * personality's persona to 32 bits, uses only the low 32 bits of clone's flags, and
 * decides PROT_WRITE/PROT_EXEC from the low bits of prot.
 */
import { createHash } from 'node:crypto';
import { ZtError } from '../../errors.js';
import { compileProfile, type ProfileDefinition, type SeccompArch, type SyscallRule, type Verdict } from './compile.js';
import type { SyscallName } from './syscalls-x86_64.js';

export type { ArgTest, ProfileDefinition, SeccompArch, SyscallRule, Verdict } from './compile.js';
export { compileProfile } from './compile.js';

export type SeccompProfileName = 'default' | 'strict';
export const SECCOMP_PROFILES: readonly SeccompProfileName[] = ['default', 'strict'];

export const EPERM = 1;
export const ENOSYS = 38;

const ALLOW: Verdict = { kind: 'allow' };
const DENY: Verdict = { kind: 'errno', errno: EPERM };
const NOSYS: Verdict = { kind: 'errno', errno: ENOSYS };

// --- constants used by the argument checks -------------------------------------------

const AF_UNIX = 1;
const TCGETS = 0x5401;
const TIOCGWINSZ = 0x5413;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
/** Every CLONE_NEW* flag clone() accepts: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
export const CLONE_NEW_MASK = 0x7e020000;
const CLONE_THREAD = 0x00010000;
/** The flags glibc's pthread_create passes to clone (and nothing else). */
export const CLONE_THREAD_FLAGS = 0x003d0f00; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
const PER_LINUX = 0;
const PERSONALITY_QUERY = 0xffffffff;
const PROT_WRITE_EXEC = 0x2 | 0x4;
/** prctl option 1: the signal a process gets when its parent dies (bwrap --die-with-parent sets it). */
const PR_SET_PDEATHSIG = 1;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_CAPBSET_READ = 23;

const deny = (...names: SyscallName[]): SyscallRule[] => names.map((name) => ({ name, verdict: DENY }));
const allow = (...names: SyscallName[]): SyscallRule[] => names.map((name) => ({ name, verdict: ALLOW }));

// --- rules shared by both profiles ------------------------------------------------------

const CLONE3_RULE: SyscallRule = { name: 'clone3', verdict: NOSYS };

/** A strict filter refuses everything but AF_UNIX; the default profile does the same. */
const SOCKET_RULES: SyscallRule[] = (['socket', 'socketpair'] as const).map((name) => ({
  name,
  tests: [{ arg: 0, test: 'eq', value: AF_UNIX, verdict: ALLOW }],
  otherwise: DENY,
  why: `${name}: only AF_UNIX (domain ${AF_UNIX}); every network family (AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, ...) gets EPERM`,
}));

// --- default: deny-list -----------------------------------------------------------------

const DEFAULT_DENIED: SyscallName[] = [
  // mounts, namespaces, root changes
  'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns',
  'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  // looking into or writing other processes
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise',
  // kernel attack surface a transcoder never touches
  'bpf', 'perf_event_open', 'userfaultfd', 'lookup_dcookie',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'keyctl', 'add_key', 'request_key',
  // system administration
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'create_module', 'get_kernel_syms', 'query_module',
  'reboot', 'swapon', 'swapoff', 'acct', 'syslog', 'quotactl', 'quotactl_fd',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'sethostname', 'setdomainname',
  'iopl', 'ioperm', 'modify_ldt', 'uselib', 'vhangup', 'nfsservctl', '_sysctl', 'sysfs', 'ustat',
  'name_to_handle_at', 'open_by_handle_at', 'fanotify_init',
  // page migration can target other processes (set_mempolicy/mbind/get_mempolicy stay: libx265 uses them)
  'move_pages', 'migrate_pages',
];

const DEFAULT_CONDITIONAL: SyscallRule[] = [
  ...SOCKET_RULES,
  {
    name: 'ioctl',
    tests: [
      { arg: 1, test: 'eq', value: TIOCSTI, verdict: DENY },
      { arg: 1, test: 'eq', value: TIOCLINUX, verdict: DENY },
    ],
    otherwise: ALLOW,
    why: 'ioctl: TIOCSTI (0x5412, fake terminal input) and TIOCLINUX (0x541c) get EPERM; other requests are allowed',
  },
  {
    name: 'clone',
    tests: [{ arg: 0, test: 'any-bits', value: CLONE_NEW_MASK, verdict: DENY }],
    otherwise: ALLOW,
    why: `clone: any CLONE_NEW* flag (mask 0x${CLONE_NEW_MASK.toString(16)}) gets EPERM; threads and fork are allowed`,
  },
  {
    // The death signal bwrap arms (--die-with-parent) is what ends the sandbox if this process is
    // SIGKILLed: nothing in the sandbox may disarm it, or the sandbox would run on unwatched.
    // (Found when bwrap still ran a pid 1 of its own, whose memory the sandbox could write;
    // the command is pid 1 now, bwrap.ts, and holds the death signal itself.)
    name: 'prctl',
    tests: [{ arg: 0, test: 'eq', value: PR_SET_PDEATHSIG, verdict: DENY }],
    otherwise: ALLOW,
    why: 'prctl: PR_SET_PDEATHSIG (1) gets EPERM, so no process of the sandbox can disarm --die-with-parent; other options are allowed',
  },
  {
    name: 'personality',
    tests: [
      { arg: 0, test: 'eq', value: PER_LINUX, verdict: ALLOW },
      { arg: 0, test: 'eq', value: PERSONALITY_QUERY, verdict: ALLOW },
    ],
    otherwise: DENY,
    why: 'personality: only PER_LINUX (0) and the query 0xffffffff; changing the execution domain gets EPERM',
  },
];

export const DEFAULT_PROFILE: ProfileDefinition = {
  name: 'default',
  defaultVerdict: ALLOW,
  x32Verdict: DENY,
  rules: [...deny(...DEFAULT_DENIED), CLONE3_RULE, ...DEFAULT_CONDITIONAL],
};

// --- strict: allow-list -----------------------------------------------------------------

/**
 * Everything ffmpeg/ffprobe (and prlimit, the dynamic loader and the libraries'
 * constructors) were seen to call while probing, decoding, encoding and muxing every
 * format the e2e suite covers, plus a few harmless twins of those calls that another
 * glibc build or code path might use instead (noted).
 */
const STRICT_ALLOWED: SyscallName[] = [
  // Seen in traces (strace -f of bwrap running every e2e encode, probe and decode):
  // program start: bwrap execs the child after installing the filter; the loader maps libraries
  'execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'access',
  // files
  'openat', 'read', 'write', 'pread64', 'lseek', 'close', 'newfstatat', 'fcntl', 'statfs',
  // memory (mmap/mprotect are conditional below); libx265's libnuma queries and sets the policy
  'munmap', 'madvise', 'mlock', 'get_mempolicy', 'set_mempolicy',
  // threads, signals, identity, time, randomness
  'futex', 'sched_getaffinity', 'exit', 'exit_group', 'rt_sigaction', 'rt_sigprocmask',
  'getpid', 'getuid', 'getrusage', 'getrandom',
  // ffmpeg polls stdin when -nostdin is missing; wait4 was bwrap's own reaper's (kept: harmless)
  'pselect6', 'wait4',
  // libx265's thread pool, when /sys/devices/system is visible: lists NUMA nodes, pins workers, lowers their priority
  'sched_setaffinity', 'getpriority', 'setpriority', 'getdents64',

  // Not seen in the traces, allowed because a path the traces cannot force needs them and
  // they reach nothing a seen call does not:
  'rt_sigreturn', // returning from any signal handler (ffmpeg installs SIGINT/SIGTERM handlers)
  // abort()/raise() on a failed assertion. As the sandbox's pid 1 the command ignores a default
  // SIGABRT, and glibc's abort() then ends it another way (SIGSEGV on x86_64): it dies either way
  'sigaltstack', 'tgkill', 'gettid',
  'mremap', // realloc() of a large (mmapped) buffer
  'munlock', 'mbind', // libnuma on a multi-node machine
  'sched_yield', 'nanosleep', 'clock_nanosleep', // av_usleep, spinning thread pools
  'clock_gettime', 'clock_getres', 'gettimeofday', // when the vDSO cannot serve the clock
  'poll', 'ppoll', // twins of pselect6
  'faccessat', 'faccessat2', 'fstat', // twins of access and newfstatat in other glibc builds
  'readv', 'writev', 'pwrite64', 'ftruncate', 'fsync', 'fdatasync', // muxers that rewrite headers or flush
  'geteuid', 'getgid', 'getegid', // twins of getuid
];

const STRICT_CONDITIONAL: SyscallRule[] = [
  {
    name: 'clone',
    tests: [
      { arg: 0, test: 'any-bits', value: ~CLONE_THREAD_FLAGS >>> 0, verdict: DENY },
      { arg: 0, test: 'any-bits', value: CLONE_THREAD, verdict: ALLOW },
    ],
    otherwise: DENY,
    why: `clone: only new threads (flags within 0x${CLONE_THREAD_FLAGS.toString(16)} including CLONE_THREAD); fork and namespaces get EPERM`,
  },
  ...(['mmap', 'mprotect'] as const).map(
    (name): SyscallRule => ({
      name,
      tests: [{ arg: 2, test: 'all-bits', value: PROT_WRITE_EXEC, verdict: DENY }],
      otherwise: ALLOW,
      why: `${name}: memory both writable and executable (PROT_WRITE|PROT_EXEC) gets EPERM (W^X); other protections are allowed`,
    }),
  ),
  {
    name: 'ioctl',
    tests: [
      { arg: 1, test: 'eq', value: TCGETS, verdict: ALLOW },
      { arg: 1, test: 'eq', value: TIOCGWINSZ, verdict: ALLOW },
    ],
    otherwise: DENY,
    why: 'ioctl: only TCGETS (0x5401, isatty) and TIOCGWINSZ (0x5413); every other request gets EPERM',
  },
  {
    name: 'prctl',
    tests: [
      { arg: 0, test: 'eq', value: PR_SET_NAME, verdict: ALLOW },
      { arg: 0, test: 'eq', value: PR_GET_NAME, verdict: ALLOW },
      { arg: 0, test: 'eq', value: PR_CAPBSET_READ, verdict: ALLOW },
    ],
    otherwise: DENY,
    why: 'prctl: only PR_SET_NAME, PR_GET_NAME and PR_CAPBSET_READ (libcap reads the bounding set at load); others get EPERM',
  },
  ...SOCKET_RULES,
];

export const STRICT_PROFILE: ProfileDefinition = {
  name: 'strict',
  defaultVerdict: DENY,
  x32Verdict: DENY,
  rules: [...allow(...STRICT_ALLOWED), CLONE3_RULE, ...STRICT_CONDITIONAL],
};

const PROFILES: Readonly<Record<SeccompProfileName, ProfileDefinition>> = {
  default: DEFAULT_PROFILE,
  strict: STRICT_PROFILE,
};

export function profileDefinition(profile: SeccompProfileName): ProfileDefinition {
  return PROFILES[profile];
}

// --- public API -------------------------------------------------------------------------

const cache = new Map<string, Buffer>();

/** The seccomp program (raw sock_filter bytes, as `bwrap --seccomp` reads them). */
export function buildSeccompProgram(profile: SeccompProfileName, arch: SeccompArch = 'x86_64'): Buffer {
  const key = `${profile}/${arch}`;
  let prog = cache.get(key);
  if (prog === undefined) {
    prog = compileProfile(profileDefinition(profile), arch);
    cache.set(key, prog);
  }
  return Buffer.from(prog); // a copy: callers cannot alter the cached program
}

/** sha256 (hex) of the program bytes: goes into audit records and posture pins. */
export function seccompProfileHash(profile: SeccompProfileName, arch: SeccompArch = 'x86_64'): string {
  return createHash('sha256').update(buildSeccompProgram(profile, arch)).digest('hex');
}

export interface ProfileDescription {
  readonly profile: SeccompProfileName;
  readonly arch: SeccompArch;
  readonly sha256: string;
  /** What unnamed syscalls get: "allow" or "EPERM". */
  readonly defaultAction: string;
  /** Syscalls always refused (with their errno when not EPERM, e.g. "clone3 (ENOSYS)"). */
  readonly denied: string[];
  /** Allow-list profiles only: syscalls always allowed. */
  readonly allowed?: string[];
  /** Syscalls whose verdict depends on an argument, one explanation each. */
  readonly conditional: string[];
  readonly other: string[];
}

/** A human- and JSON-friendly description for `--dry-run` and `doctor`. */
export function describeProfile(profile: SeccompProfileName, arch: SeccompArch = 'x86_64'): ProfileDescription {
  const def = profileDefinition(profile);
  const denied: string[] = [];
  const allowed: string[] = [];
  const conditional: string[] = [];
  for (const r of def.rules) {
    if ('tests' in r) conditional.push(r.why);
    else if (r.verdict.kind === 'allow') allowed.push(r.name);
    else denied.push(r.verdict.errno === EPERM ? r.name : `${r.name} (${errnoName(r.verdict.errno)}: glibc falls back to clone)`);
  }
  return {
    profile,
    arch,
    sha256: seccompProfileHash(profile, arch),
    defaultAction: def.defaultVerdict.kind === 'allow' ? 'allow' : errnoName(def.defaultVerdict.errno),
    denied: denied.sort(),
    ...(def.defaultVerdict.kind === 'allow' ? {} : { allowed: allowed.sort() }),
    conditional,
    other: [
      `a syscall from another architecture kills the process (the filter is for ${arch})`,
      `x32-ABI syscalls (number | 0x40000000) get ${def.x32Verdict.kind === 'allow' ? 'allowed' : errnoName(def.x32Verdict.errno)}`,
    ],
  };
}

function errnoName(errno: number): string {
  return errno === EPERM ? 'EPERM' : errno === ENOSYS ? 'ENOSYS' : `errno ${errno}`;
}

/**
 * The filter architecture for this machine. A filter for another architecture would kill
 * every process (its arch check fails), so an unsupported host is refused up front.
 */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x86_64';
  throw new ZtError('sandbox-unavailable', `no seccomp filter for this architecture: expected x64, found ${nodeArch}`, {
    hint: 'run on x86_64, or use a policy whose sandbox.seccomp is "none" where that stage allows it',
    details: { arch: nodeArch },
  });
}
