import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ARCH_AARCH64, BPF_MAXINSNS, deserialize } from '../../src/sandbox/seccomp/bpf.js';
import { checkProgram, evaluate, type SeccompVerdict } from '../../src/sandbox/seccomp/evaluate.js';
import {
  CLONE_THREAD_FLAGS,
  DEFAULT_PROFILE,
  STRICT_PROFILE,
  buildSeccompProgram,
  describeProfile,
  hostSeccompArch,
  seccompProfileHash,
  type SeccompProfileName,
} from '../../src/sandbox/seccomp/profiles.js';
import { AUDIT_ARCH, SYSCALLS_X86_64, type SyscallName } from '../../src/sandbox/seccomp/syscalls-x86_64.js';

const EPERM = 1;
const ENOSYS = 38;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const AF_PACKET = 17;
const TIOCSTI = 0x5412;
const TCGETS = 0x5401;
const CLONE_NEW = {
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
};
const FORK_FLAGS = 0x01200011; // CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD, as glibc fork()

function verdict(profile: SeccompProfileName, name: SyscallName, args: Array<number | bigint> = []): SeccompVerdict {
  return evaluate(buildSeccompProgram(profile), { nr: SYSCALLS_X86_64[name], arch: AUDIT_ARCH, args });
}
const eperm = { action: 'errno', errno: EPERM };
const allowed = { action: 'allow' };

describe('syscall table', () => {
  const header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
  it.skipIf(!existsSync(header))('matches the kernel uapi header for every entry', () => {
    const text = readFileSync(header, 'utf8');
    for (const [name, nr] of Object.entries(SYSCALLS_X86_64)) {
      const m = new RegExp(`^#define __NR_${name} (\\d+)$`, 'm').exec(text);
      expect(m?.[1], name).toBe(String(nr));
    }
  });
  it('has distinct numbers', () => {
    const nrs = Object.values(SYSCALLS_X86_64);
    expect(new Set(nrs).size).toBe(nrs.length);
  });
});

describe.each(['default', 'strict'] as const)('%s program', (profile) => {
  const prog = buildSeccompProgram(profile);

  it('is a valid classic-BPF program the kernel accepts', () => {
    expect(prog.length % 8).toBe(0);
    const insns = deserialize(prog);
    expect(insns.length).toBeLessThan(BPF_MAXINSNS);
    expect(checkProgram(insns)).toEqual([]);
  });

  it('starts with the arch check, then the x32 check (golden)', () => {
    const [a, b, c, d] = deserialize(prog);
    expect(a).toEqual({ code: 0x20, jt: 0, jf: 0, k: 4 }); // ld [arch]
    expect(b).toMatchObject({ code: 0x15, jt: 0, k: 0xc000003e }); // jeq AUDIT_ARCH_X86_64, next, kill
    expect(c).toEqual({ code: 0x20, jt: 0, jf: 0, k: 0 }); // ld [nr]
    expect(d).toMatchObject({ code: 0x45, jf: 0, k: 0x40000000 }); // jset X32_SYSCALL_BIT, x32 verdict, next
  });

  it('kills the process on a foreign architecture, before looking at the number', () => {
    for (const arch of [0x40000003 /* i386 */, AUDIT_ARCH_AARCH64, 0]) {
      expect(evaluate(prog, { nr: SYSCALLS_X86_64.read, arch })).toMatchObject({ action: 'kill', scope: 'process' });
    }
  });

  it('refuses x32-ABI syscalls (number | 0x40000000) with EPERM', () => {
    for (const name of ['read', 'socket', 'ptrace'] as const) {
      expect(evaluate(prog, { nr: SYSCALLS_X86_64[name] | 0x40000000, arch: AUDIT_ARCH })).toMatchObject(eperm);
    }
  });

  it('allows what every process needs', () => {
    for (const name of ['read', 'write', 'openat', 'close', 'mmap', 'futex', 'exit_group', 'execve', 'set_mempolicy', 'get_mempolicy'] as const) {
      expect(verdict(profile, name, [0, 0, 3]), name).toMatchObject(allowed);
    }
  });

  it('refuses network sockets, any family but AF_UNIX', () => {
    for (const family of [AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, 0, 0xffff]) {
      expect(verdict(profile, 'socket', [family, 1, 0]), `family ${family}`).toMatchObject(eperm);
      expect(verdict(profile, 'socketpair', [family, 1, 0])).toMatchObject(eperm);
    }
    expect(verdict(profile, 'socket', [AF_UNIX, 1, 0])).toMatchObject(allowed);
    // The kernel reads domain as an int: high bits do not make AF_INET look different.
    expect(verdict(profile, 'socket', [0xffffffff_00000002n, 1, 0])).toMatchObject(eperm);
  });

  it('refuses namespace-creating clone flags, and clone3 with ENOSYS', () => {
    for (const [flag, bit] of Object.entries(CLONE_NEW)) {
      expect(verdict(profile, 'clone', [CLONE_THREAD_FLAGS | bit]), flag).toMatchObject(eperm);
      expect(verdict(profile, 'clone', [FORK_FLAGS | bit]), flag).toMatchObject(eperm);
    }
    expect(verdict(profile, 'clone', [CLONE_THREAD_FLAGS])).toMatchObject(allowed);
    expect(verdict(profile, 'clone3', [0, 88])).toMatchObject({ action: 'errno', errno: ENOSYS });
  });

  it('refuses TIOCSTI and allows TCGETS', () => {
    expect(verdict(profile, 'ioctl', [0, TIOCSTI, 0])).toMatchObject(eperm);
    expect(verdict(profile, 'ioctl', [2, TCGETS, 0])).toMatchObject(allowed);
  });

  it('refuses the kernel attack surface a transcoder never needs', () => {
    const never: SyscallName[] = [
      'ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount2', 'pivot_root', 'chroot', 'unshare',
      'setns', 'move_mount', 'open_tree', 'fsopen', 'fsmount', 'mount_setattr', 'keyctl', 'add_key', 'request_key',
      'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'kexec_load',
      'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'acct', 'syslog',
      'settimeofday', 'clock_settime', 'adjtimex', 'iopl', 'ioperm', 'open_by_handle_at', 'name_to_handle_at',
      'fanotify_init', 'move_pages', 'migrate_pages', 'kcmp', 'pidfd_getfd',
    ];
    for (const name of never) expect(verdict(profile, name), name).toMatchObject(eperm);
  });

  it('only lets personality be queried or reset to PER_LINUX', () => {
    expect(verdict(profile, 'personality', [0x0040000 /* READ_IMPLIES_EXEC */])).toMatchObject(eperm);
    expect(verdict(profile, 'personality', [0x0020000 /* ADDR_NO_RANDOMIZE */])).toMatchObject(eperm);
  });
});

describe('default profile specifics', () => {
  it('allows fork, plain clone, personality queries and unnamed syscalls', () => {
    expect(verdict('default', 'clone', [FORK_FLAGS])).toMatchObject(allowed);
    expect(verdict('default', 'personality', [0xffffffff])).toMatchObject(allowed);
    expect(verdict('default', 'personality', [0])).toMatchObject(allowed);
    expect(verdict('default', 'ioctl', [0, 0x541b /* FIONREAD */])).toMatchObject(allowed);
    expect(verdict('default', 'mprotect', [0, 4096, 7])).toMatchObject(allowed);
    expect(verdict('default', 'prctl', [38 /* PR_SET_NO_NEW_PRIVS */])).toMatchObject(allowed);
    expect(verdict('default', 'prctl', [2 /* PR_GET_PDEATHSIG */])).toMatchObject(allowed);
    expect(evaluate(buildSeccompProgram('default'), { nr: 999, arch: AUDIT_ARCH }).action).toBe('allow');
  });
  it('also refuses TIOCLINUX', () => {
    expect(verdict('default', 'ioctl', [0, 0x541c])).toMatchObject(eperm);
  });
  it('refuses PR_SET_PDEATHSIG: the sandboxed command (its pid 1) must keep --die-with-parent armed', () => {
    expect(verdict('default', 'prctl', [1 /* PR_SET_PDEATHSIG */, 0])).toMatchObject(eperm);
    expect(verdict('strict', 'prctl', [1 /* PR_SET_PDEATHSIG */, 0])).toMatchObject(eperm);
  });
});

describe('strict profile specifics', () => {
  it('allows exactly its allow-list: every listed syscall is allowed, an unlisted one is EPERM', () => {
    const listed = new Set(STRICT_PROFILE.rules.map((r) => r.name));
    for (const r of STRICT_PROFILE.rules) {
      if ('verdict' in r && r.verdict.kind === 'allow') expect(verdict('strict', r.name), r.name).toMatchObject(allowed);
    }
    for (const name of Object.keys(SYSCALLS_X86_64) as SyscallName[]) {
      if (!listed.has(name)) expect(verdict('strict', name), name).toMatchObject(eperm);
    }
    expect(evaluate(buildSeccompProgram('strict'), { nr: 999, arch: AUDIT_ARCH })).toMatchObject(eperm);
  });

  it('allows threads only: fork, vfork-like and odd clone flags are EPERM', () => {
    expect(verdict('strict', 'clone', [FORK_FLAGS])).toMatchObject(eperm);
    expect(verdict('strict', 'clone', [0x4111 /* CLONE_VM|CLONE_VFORK|SIGCHLD */])).toMatchObject(eperm);
    expect(verdict('strict', 'clone', [CLONE_THREAD_FLAGS & ~0x10000 /* no CLONE_THREAD */])).toMatchObject(eperm);
    expect(verdict('strict', 'clone', [CLONE_THREAD_FLAGS | 0x2000 /* CLONE_PTRACE */])).toMatchObject(eperm);
  });

  it('enforces W^X on mmap and mprotect', () => {
    const [R, W, X] = [1, 2, 4];
    expect(verdict('strict', 'mmap', [0, 4096, R | W | X, 0x22])).toMatchObject(eperm);
    expect(verdict('strict', 'mprotect', [0, 4096, W | X])).toMatchObject(eperm);
    expect(verdict('strict', 'mmap', [0, 4096, R | X, 0x2])).toMatchObject(allowed);
    expect(verdict('strict', 'mprotect', [0, 4096, R | W])).toMatchObject(allowed);
    expect(verdict('strict', 'mprotect', [0, 4096, 0])).toMatchObject(allowed);
  });

  it('restricts ioctl and prctl to a few requests', () => {
    expect(verdict('strict', 'ioctl', [0, 0x541b])).toMatchObject(eperm);
    expect(verdict('strict', 'ioctl', [1, 0x5413 /* TIOCGWINSZ */])).toMatchObject(allowed);
    expect(verdict('strict', 'prctl', [15 /* PR_SET_NAME */])).toMatchObject(allowed);
    expect(verdict('strict', 'prctl', [23 /* PR_CAPBSET_READ */])).toMatchObject(allowed);
    expect(verdict('strict', 'prctl', [22 /* PR_SET_SECCOMP */])).toMatchObject(eperm);
    expect(verdict('strict', 'prctl', [4 /* PR_SET_DUMPABLE */])).toMatchObject(eperm);
    expect(verdict('strict', 'personality', [0xffffffff])).toMatchObject(eperm);
  });
});

describe('hash, description and files', () => {
  it('hashes the program bytes, stably, differently per profile', () => {
    expect(seccompProfileHash('default')).toMatch(/^[0-9a-f]{64}$/);
    expect(seccompProfileHash('default')).toBe(seccompProfileHash('default'));
    expect(seccompProfileHash('default')).not.toBe(seccompProfileHash('strict'));
  });

  it('returns a copy: callers cannot alter the program', () => {
    const a = buildSeccompProgram('default');
    a.fill(0);
    expect(checkProgram(deserialize(buildSeccompProgram('default')))).toEqual([]);
  });

  it('describes each profile for --dry-run', () => {
    const d = describeProfile('default');
    expect(d.defaultAction).toBe('allow');
    expect(d.allowed).toBeUndefined();
    expect(d.denied).toContain('ptrace');
    expect(d.denied.find((s) => s.startsWith('clone3'))).toMatch(/ENOSYS/);
    expect(d.conditional.join('\n')).toMatch(/AF_UNIX/);
    expect(d.sha256).toBe(seccompProfileHash('default'));
    const s = describeProfile('strict');
    expect(s.defaultAction).toBe('EPERM');
    expect(s.allowed).toContain('read');
    expect(s.allowed).not.toContain('socket');
    expect(s.conditional.join('\n')).toMatch(/W\^X/);
    expect(DEFAULT_PROFILE.rules.length).toBe(d.denied.length + d.conditional.length);
  });

  it('refuses to build for a host it has no syscall table for', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(() => hostSeccompArch('arm64')).toThrow(expect.objectContaining({ reason: 'sandbox-unavailable' }));
  });
});
