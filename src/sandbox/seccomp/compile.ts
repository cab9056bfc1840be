/**
 * Compiles a seccomp profile (data: which syscalls get which verdict, with argument
 * tests) into a classic-BPF program. Pure. The layout:
 *
 *   load arch; not ours → KILL_PROCESS (a number means another syscall there)
 *   load nr; x32 bit set → the profile's x32 verdict
 *   one `jeq nr` per unconditional rule, jumping to a shared return
 *   one small block per conditional rule: load the argument, test, jump to a return
 *   jump to the default verdict; the shared returns
 *
 * Only forward jumps; the assembler relaxes any that outgrow 8 bits.
 */
import {
  Assembler,
  NEXT,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  argLow,
  retErrno,
  serialize,
} from './bpf.js';
import { AUDIT_ARCH, SYSCALLS_X86_64, X32_SYSCALL_BIT, type SyscallName } from './syscalls-x86_64.js';

export type SeccompArch = 'x86_64';

export type Verdict = { readonly kind: 'allow' } | { readonly kind: 'errno'; readonly errno: number };

/** One test on the low 32 bits of a syscall argument. The first test that matches decides. */
export interface ArgTest {
  readonly arg: 0 | 1 | 2 | 3 | 4 | 5;
  /** eq: arg == value; any-bits: arg & value != 0; all-bits: arg & value == value. */
  readonly test: 'eq' | 'any-bits' | 'all-bits';
  readonly value: number;
  readonly verdict: Verdict;
}

export type SyscallRule =
  | { readonly name: SyscallName; readonly verdict: Verdict }
  | {
      readonly name: SyscallName;
      readonly tests: readonly ArgTest[];
      readonly otherwise: Verdict;
      /** One line for `--dry-run` and the docs. */
      readonly why: string;
    };

export interface ProfileDefinition {
  readonly name: string;
  /** What happens to syscalls no rule names. */
  readonly defaultVerdict: Verdict;
  /** What happens to x32-ABI syscalls (same AUDIT_ARCH, number | 0x40000000). */
  readonly x32Verdict: Verdict;
  readonly rules: readonly SyscallRule[];
}

function verdictLabel(v: Verdict): string {
  return v.kind === 'allow' ? 'ret:allow' : `ret:errno:${v.errno}`;
}

function verdictReturn(v: Verdict): number {
  return v.kind === 'allow' ? SECCOMP_RET_ALLOW : retErrno(v.errno);
}

/**
 * Compile a profile to a seccomp program:
 *   arch check (mismatch → KILL_PROCESS); x32 bit → x32 verdict;
 *   one `jeq nr` per unconditional rule, jumping to a shared return;
 *   one small block per conditional rule (load the argument, test, jump to a return);
 *   the default verdict; the shared returns.
 * Throws (a bug) if a syscall is named twice or is missing from the arch's table.
 */
export function compileProfile(def: ProfileDefinition, arch: SeccompArch = 'x86_64'): Buffer {
  const table = archTable(arch);
  const seen = new Set<string>();
  for (const r of def.rules) {
    if (seen.has(r.name)) throw new Error(`internal error: seccomp profile ${def.name} names ${r.name} twice`);
    seen.add(r.name);
    if (table.numbers[r.name] === undefined) throw new Error(`internal error: no ${arch} number for ${r.name}`);
  }
  const verdicts = new Map<string, Verdict>();
  const use = (v: Verdict): string => {
    const l = verdictLabel(v);
    verdicts.set(l, v);
    return l;
  };

  const asm = new Assembler();
  asm.ldAbs(SECCOMP_DATA_ARCH).jump('jeq', table.auditArch, NEXT, 'ret:kill');
  asm.ldAbs(SECCOMP_DATA_NR);
  if (table.x32Bit !== undefined) asm.jump('jset', table.x32Bit, use(def.x32Verdict), NEXT);

  const unconditional = def.rules.filter((r): r is Extract<SyscallRule, { verdict: Verdict }> => 'verdict' in r);
  const conditional = def.rules.filter((r): r is Extract<SyscallRule, { tests: readonly ArgTest[] }> => 'tests' in r);
  for (const r of unconditional) {
    // A syscall whose verdict equals the default needs no instruction, but keeping it
    // makes the program say what the profile says (and the kernel's cache makes it free).
    asm.jump('jeq', syscallNumber(table, r.name), use(r.verdict), NEXT);
  }
  conditional.forEach((r, i) => {
    const skip = `skip:${i}`;
    asm.jump('jeq', syscallNumber(table, r.name), NEXT, skip);
    let loaded = -1;
    for (const t of r.tests) {
      if (loaded !== t.arg) asm.ldAbs(argLow(t.arg));
      loaded = t.arg;
      switch (t.test) {
        case 'eq':
          asm.jump('jeq', t.value, use(t.verdict), NEXT);
          break;
        case 'any-bits':
          asm.jump('jset', t.value, use(t.verdict), NEXT);
          break;
        case 'all-bits':
          asm.andK(t.value).jump('jeq', t.value >>> 0, use(t.verdict), NEXT);
          loaded = -1; // A now holds the masked value
          break;
      }
    }
    asm.ja(use(r.otherwise));
    // A still holds the syscall number here: only the `jeq nr` above jumps to this label.
    asm.label(skip);
  });
  asm.ja(use(def.defaultVerdict));
  asm.label('ret:kill').ret(SECCOMP_RET_KILL_PROCESS);
  for (const [label, v] of [...verdicts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    asm.label(label).ret(verdictReturn(v));
  }
  return serialize(asm.assemble());
}

interface ArchTable {
  readonly auditArch: number;
  readonly x32Bit: number | undefined;
  readonly numbers: Readonly<Record<string, number>>;
}

function archTable(arch: SeccompArch): ArchTable {
  switch (arch) {
    case 'x86_64':
      return { auditArch: AUDIT_ARCH, x32Bit: X32_SYSCALL_BIT, numbers: SYSCALLS_X86_64 };
  }
}

function syscallNumber(table: ArchTable, name: string): number {
  const n = table.numbers[name];
  if (n === undefined) throw new Error(`internal error: no syscall number for ${name}`);
  return n;
}
