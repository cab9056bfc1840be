/**
 * A tiny classic-BPF assembler for seccomp filters.
 *
 * A program is a list of `sock_filter` instructions, each 8 bytes little-endian:
 * `{ code: u16, jt: u8, jf: u8, k: u32 }`. Conditional jumps (`jt`/`jf`) are 8-bit
 * forward offsets, so a conditional jump can reach at most 255 instructions ahead;
 * `ja` carries a 32-bit offset in `k`. The assembler resolves symbolic labels and,
 * when a conditional target is too far away, relaxes the jump into a short hop to
 * an inserted `ja` trampoline, repeating until every offset fits.
 *
 * Pure: no I/O, no clocks. See evaluate.ts for the matching interpreter.
 */

/** One classic-BPF instruction (struct sock_filter). */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Instruction classes, sizes, modes, operations and sources (linux/bpf_common.h).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;

export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;

export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;

export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory slots (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;

// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_SIZE = 64;
/** Offset of the low 32 bits of syscall argument `i` (little-endian machines). */
export function argLow(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i > 5) throw new RangeError(`syscall argument index must be 0..5, got ${i}`);
  return 16 + 8 * i;
}
/** Offset of the high 32 bits of syscall argument `i` (little-endian machines). */
export function argHigh(i: number): number {
  return argLow(i) + 4;
}

// Seccomp return values (linux/seccomp.h).
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** `SECCOMP_RET_ERRNO | errno`: the syscall returns -errno without running. */
export function retErrno(errno: number): number {
  if (!Number.isInteger(errno) || errno < 1 || errno > 4095) throw new RangeError(`errno must be 1..4095, got ${errno}`);
  return (SECCOMP_RET_ERRNO | errno) >>> 0;
}

// AUDIT_ARCH_* values (linux/audit.h) for the architectures we build filters for.
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

/** Build one instruction, checking field ranges. */
export function insn(code: number, k = 0, jt = 0, jf = 0): SockFilter {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new RangeError(`BPF code out of range: ${code}`);
  if (!Number.isInteger(jt) || jt < 0 || jt > 0xff) throw new RangeError(`BPF jt out of range: ${jt}`);
  if (!Number.isInteger(jf) || jf < 0 || jf > 0xff) throw new RangeError(`BPF jf out of range: ${jf}`);
  if (!Number.isInteger(k) || k < -0x80000000 || k > 0xffffffff) throw new RangeError(`BPF k out of range: ${k}`);
  return { code, jt, jf, k: k >>> 0 };
}

/** Serialize a program to the kernel's byte layout (8 bytes per instruction, little-endian). */
export function serialize(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    const o = i * 8;
    buf.writeUInt16LE(ins.code, o);
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
    buf.writeUInt32LE(ins.k >>> 0, o + 4);
  });
  return buf;
}

/** The inverse of serialize. Throws a RangeError when the length is not a multiple of 8. */
export function deserialize(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new RangeError(`a BPF program is a multiple of 8 bytes, got ${bytes.length}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Assembler with labels.

/** A jump target: a label name, or `next` for the following instruction. */
export type Target = string | { readonly next: true };
export const NEXT: Target = { next: true };

export type JumpCond = 'jeq' | 'jgt' | 'jge' | 'jset';

type Item =
  | { readonly t: 'plain'; readonly ins: SockFilter }
  | { readonly t: 'cond'; readonly code: number; readonly k: number; readonly jt: Target; readonly jf: Target }
  | { readonly t: 'ja'; readonly target: string }
  | { readonly t: 'label'; readonly name: string };

const COND_OP: Readonly<Record<JumpCond, number>> = { jeq: BPF_JEQ, jgt: BPF_JGT, jge: BPF_JGE, jset: BPF_JSET };

/**
 * Collects instructions and labels, then `assemble()` resolves them. Jumps must be
 * forward (classic BPF has no backward jumps, which is what guarantees termination).
 */
export class Assembler {
  private readonly items: Item[] = [];
  private readonly labels = new Set<string>();

  /** A = 32-bit word of seccomp_data at `offset`. */
  ldAbs(offset: number): this {
    if (!Number.isInteger(offset) || offset < 0 || offset > SECCOMP_DATA_SIZE - 4 || offset % 4 !== 0) {
      throw new RangeError(`seccomp loads must be 4-byte aligned inside the 64-byte seccomp_data, got offset ${offset}`);
    }
    return this.plain(insn(BPF_LD | BPF_W | BPF_ABS, offset));
  }

  /** A = A & k. */
  andK(k: number): this {
    return this.plain(insn(BPF_ALU | BPF_AND | BPF_K, k));
  }

  /** Conditional jump on A compared with the constant k. */
  jump(cond: JumpCond, k: number, jt: Target, jf: Target): this {
    insn(BPF_JMP | COND_OP[cond] | BPF_K, k); // range check only
    this.items.push({ t: 'cond', code: BPF_JMP | COND_OP[cond] | BPF_K, k: k >>> 0, jt, jf });
    return this;
  }

  /** Unconditional jump (32-bit offset: never needs relaxing). */
  ja(target: string): this {
    this.items.push({ t: 'ja', target });
    return this;
  }

  /** Return a seccomp action. */
  ret(k: number): this {
    return this.plain(insn(BPF_RET | BPF_K, k));
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`internal error: BPF label "${name}" defined twice`);
    this.labels.add(name);
    this.items.push({ t: 'label', name });
    return this;
  }

  plain(ins: SockFilter): this {
    this.items.push({ t: 'plain', ins });
    return this;
  }

  /** Resolve labels, relaxing out-of-range conditional jumps through `ja` trampolines. */
  assemble(): SockFilter[] {
    // relaxed[i] = which sides of cond item i go through a trampoline.
    const relaxed = new Map<number, { jt: boolean; jf: boolean }>();
    for (;;) {
      const { pos, labelPos } = this.layout(relaxed);
      let changed = false;
      this.items.forEach((it, i) => {
        if (it.t !== 'cond') return;
        const r = relaxed.get(i) ?? { jt: false, jf: false };
        const base = (pos[i] ?? 0) + 1 + trampolines(r);
        const far = (tg: Target): boolean => typeof tg === 'string' && resolve(tg, labelPos, pos[i] ?? 0) - base > 0xff;
        const next = { jt: r.jt || far(it.jt), jf: r.jf || far(it.jf) };
        if (next.jt !== r.jt || next.jf !== r.jf) {
          relaxed.set(i, next);
          changed = true;
        }
      });
      if (!changed) return this.emit(relaxed, pos, labelPos);
    }
  }

  private layout(relaxed: ReadonlyMap<number, { jt: boolean; jf: boolean }>): {
    pos: number[];
    labelPos: Map<string, number>;
  } {
    const pos: number[] = [];
    const labelPos = new Map<string, number>();
    let p = 0;
    this.items.forEach((it, i) => {
      pos[i] = p;
      switch (it.t) {
        case 'label':
          labelPos.set(it.name, p);
          break;
        case 'cond':
          p += 1 + trampolines(relaxed.get(i) ?? { jt: false, jf: false });
          break;
        case 'plain':
        case 'ja':
          p += 1;
          break;
      }
    });
    return { pos, labelPos };
  }

  private emit(
    relaxed: ReadonlyMap<number, { jt: boolean; jf: boolean }>,
    pos: readonly number[],
    labelPos: ReadonlyMap<string, number>,
  ): SockFilter[] {
    const out: SockFilter[] = [];
    this.items.forEach((it, i) => {
      const here = pos[i] ?? 0;
      switch (it.t) {
        case 'label':
          return;
        case 'plain':
          out.push(it.ins);
          return;
        case 'ja': {
          const off = resolve(it.target, labelPos, here) - (here + 1);
          out.push(insn(BPF_JMP | BPF_JA, off));
          return;
        }
        case 'cond': {
          const r = relaxed.get(i) ?? { jt: false, jf: false };
          const after = here + 1 + trampolines(r); // first instruction after the trampolines
          // Trampoline slots: jt's (if any) first, then jf's.
          const jtSlot = here + 1;
          const jfSlot = here + 1 + (r.jt ? 1 : 0);
          const off = (tg: Target, viaSlot: number | undefined): number => {
            if (viaSlot !== undefined) return viaSlot - (here + 1);
            if (typeof tg !== 'string') return after - (here + 1);
            return resolve(tg, labelPos, here) - (here + 1);
          };
          out.push(insn(it.code, it.k, off(it.jt, r.jt ? jtSlot : undefined), off(it.jf, r.jf ? jfSlot : undefined)));
          if (r.jt) out.push(insn(BPF_JMP | BPF_JA, resolveTarget(it.jt, labelPos, here, after) - (jtSlot + 1)));
          if (r.jf) out.push(insn(BPF_JMP | BPF_JA, resolveTarget(it.jf, labelPos, here, after) - (jfSlot + 1)));
          return;
        }
      }
    });
    if (out.length === 0 || out.length > BPF_MAXINSNS) {
      throw new Error(`internal error: BPF program length ${out.length} outside 1..${BPF_MAXINSNS}`);
    }
    return out;
  }
}

function trampolines(r: { jt: boolean; jf: boolean }): number {
  return (r.jt ? 1 : 0) + (r.jf ? 1 : 0);
}

function resolve(name: string, labelPos: ReadonlyMap<string, number>, from: number): number {
  const p = labelPos.get(name);
  if (p === undefined) throw new Error(`internal error: BPF label "${name}" is used but never defined`);
  if (p <= from) throw new Error(`internal error: BPF jump to "${name}" goes backwards (classic BPF jumps forward only)`);
  return p;
}

function resolveTarget(tg: Target, labelPos: ReadonlyMap<string, number>, from: number, after: number): number {
  return typeof tg === 'string' ? resolve(tg, labelPos, from) : after;
}
