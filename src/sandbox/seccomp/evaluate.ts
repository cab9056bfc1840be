/**
 * A classic-BPF interpreter with seccomp semantics: decode a serialized filter and
 * compute the kernel's verdict for one syscall. Used by tests (and `--dry-run`
 * explanations) to check what a generated program really does, instead of trusting
 * the builder that produced it.
 *
 * Also `checkProgram`, the static checks the kernel applies before accepting a
 * filter (length, jump ranges, load offsets, known opcodes, ends in a return).
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  SECCOMP_DATA_SIZE,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  deserialize,
  type SockFilter,
} from './bpf.js';

export interface SeccompInput {
  readonly nr: number;
  readonly arch: number;
  readonly instructionPointer?: bigint | number;
  /** Up to six syscall arguments (64-bit each). */
  readonly args?: ReadonlyArray<bigint | number>;
}

export type SeccompAction = 'allow' | 'errno' | 'kill' | 'trap' | 'log' | 'trace' | 'user-notif';

export interface SeccompVerdict {
  readonly action: SeccompAction;
  /** For `errno`: the errno the syscall returns. */
  readonly errno?: number;
  /** For `kill`: whether the whole process or only the thread dies. */
  readonly scope?: 'process' | 'thread';
  /** The raw 32-bit return value of the filter. */
  readonly raw: number;
  /** Instructions executed (for tests and curiosity). */
  readonly steps: number;
}

/** Lay out struct seccomp_data (little-endian) for the given syscall. */
export function seccompData(input: SeccompInput): Buffer {
  const buf = Buffer.alloc(SECCOMP_DATA_SIZE);
  buf.writeInt32LE(input.nr | 0, 0);
  buf.writeUInt32LE(input.arch >>> 0, 4);
  buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(input.instructionPointer ?? 0)), 8);
  const args = input.args ?? [];
  if (args.length > 6) throw new RangeError(`a syscall has at most 6 arguments, got ${args.length}`);
  args.forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i));
  return buf;
}

/** Map a filter's return value to the action the kernel takes. */
export function decodeReturn(raw: number, steps = 0): SeccompVerdict {
  const r = raw >>> 0;
  const action = (r & SECCOMP_RET_ACTION_FULL) >>> 0;
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS:
      return { action: 'kill', scope: 'process', raw: r, steps };
    case SECCOMP_RET_KILL_THREAD:
      return { action: 'kill', scope: 'thread', raw: r, steps };
    case SECCOMP_RET_TRAP:
      return { action: 'trap', raw: r, steps };
    case SECCOMP_RET_ERRNO:
      return { action: 'errno', errno: r & SECCOMP_RET_DATA, raw: r, steps };
    case SECCOMP_RET_USER_NOTIF:
      return { action: 'user-notif', raw: r, steps };
    case SECCOMP_RET_TRACE:
      return { action: 'trace', raw: r, steps };
    case SECCOMP_RET_LOG:
      return { action: 'log', raw: r, steps };
    case SECCOMP_RET_ALLOW:
      return { action: 'allow', raw: r, steps };
    default:
      // The kernel treats unknown actions as KILL_PROCESS.
      return { action: 'kill', scope: 'process', raw: r, steps };
  }
}

const LOAD_ABS_W = BPF_LD | BPF_W | BPF_ABS;

/**
 * Static checks the kernel's classic-BPF checker (plus seccomp's own) applies.
 * Returns the problems found; an empty list means the kernel would accept it.
 */
export function checkProgram(program: readonly SockFilter[]): string[] {
  const problems: string[] = [];
  if (program.length === 0) problems.push('program is empty');
  if (program.length > BPF_MAXINSNS) problems.push(`program has ${program.length} instructions, the limit is ${BPF_MAXINSNS}`);
  program.forEach((ins, pc) => {
    const cls = ins.code & 0x07;
    if (cls === BPF_JMP) {
      const op = ins.code & 0xf0;
      if (op === BPF_JA) {
        if (pc + 1 + ins.k >= program.length) problems.push(`insn ${pc}: ja lands outside the program`);
      } else if (pc + 1 + Math.max(ins.jt, ins.jf) >= program.length) {
        problems.push(`insn ${pc}: conditional jump lands outside the program`);
      }
    }
    if (cls === BPF_LD || cls === BPF_LDX) {
      const mode = ins.code & 0xe0;
      if (ins.code === LOAD_ABS_W && (ins.k >= SECCOMP_DATA_SIZE || ins.k % 4 !== 0)) {
        problems.push(`insn ${pc}: load at offset ${ins.k} outside seccomp_data or unaligned`);
      } else if (cls === BPF_LD && mode === BPF_ABS && ins.code !== LOAD_ABS_W) {
        problems.push(`insn ${pc}: seccomp only allows 32-bit absolute loads`);
      } else if (mode === BPF_MEM && ins.k >= BPF_MEMWORDS) {
        problems.push(`insn ${pc}: scratch slot ${ins.k} out of range`);
      }
    }
    if (!KNOWN_CODES.has(ins.code)) problems.push(`insn ${pc}: opcode 0x${ins.code.toString(16)} not allowed in seccomp filters`);
  });
  const last = program[program.length - 1];
  if (last !== undefined && (last.code & 0x07) !== BPF_RET) problems.push('program does not end with a return');
  return problems;
}

const KNOWN_CODES = new Set<number>([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [
    BPF_ALU | op | BPF_K,
    BPF_ALU | op | BPF_X,
  ]),
  BPF_ALU | BPF_NEG,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
]);

/** Run a filter (serialized or decoded) against one syscall and return the kernel's verdict. */
export function evaluate(program: Uint8Array | readonly SockFilter[], input: SeccompInput): SeccompVerdict {
  const prog = program instanceof Uint8Array ? deserialize(program) : program;
  const problems = checkProgram(prog);
  if (problems.length > 0) throw new Error(`invalid seccomp program: ${problems.join('; ')}`);
  const data = seccompData(input);
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(BPF_MEMWORDS);
  let pc = 0;
  let steps = 0;
  for (;;) {
    const ins = prog[pc];
    if (ins === undefined) throw new Error(`seccomp program fell off its end at insn ${pc}`);
    steps += 1;
    const cls = ins.code & 0x07;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = ins.code & 0xe0;
        let v: number;
        if (mode === BPF_ABS) v = data.readUInt32LE(ins.k);
        else if (mode === BPF_LEN) v = SECCOMP_DATA_SIZE;
        else if (mode === BPF_IMM) v = ins.k;
        else v = mem[ins.k] ?? 0; // BPF_MEM
        if (cls === BPF_LD) a = v >>> 0;
        else x = v >>> 0;
        pc += 1;
        break;
      }
      case BPF_ST:
        mem[ins.k] = a;
        pc += 1;
        break;
      case BPF_STX:
        mem[ins.k] = x;
        pc += 1;
        break;
      case BPF_ALU: {
        const src = (ins.code & BPF_X) !== 0 ? x : ins.k;
        a = alu(ins.code & 0xf0, a, src) >>> 0;
        pc += 1;
        break;
      }
      case BPF_JMP: {
        const op = ins.code & 0xf0;
        if (op === BPF_JA) {
          pc += 1 + ins.k;
          break;
        }
        const src = ((ins.code & BPF_X) !== 0 ? x : ins.k) >>> 0;
        let taken: boolean;
        if (op === BPF_JEQ) taken = a === src;
        else if (op === BPF_JGT) taken = a > src;
        else if (op === BPF_JGE) taken = a >= src;
        else taken = (a & src) !== 0; // BPF_JSET
        pc += 1 + (taken ? ins.jt : ins.jf);
        break;
      }
      case BPF_RET:
        return decodeReturn((ins.code & 0x18) === BPF_A ? a : ins.k, steps);
      case BPF_MISC:
        if ((ins.code & 0xf8) === BPF_TXA) a = x;
        else x = a;
        pc += 1;
        break;
      default:
        throw new Error(`seccomp program has an unknown instruction class at insn ${pc}`);
    }
  }
}

function alu(op: number, a: number, src: number): number {
  switch (op) {
    case BPF_ADD:
      return a + src;
    case BPF_SUB:
      return a - src;
    case BPF_MUL:
      return Math.imul(a, src);
    case BPF_DIV:
      return src === 0 ? 0 : Math.floor((a >>> 0) / (src >>> 0));
    case BPF_MOD:
      return src === 0 ? 0 : (a >>> 0) % (src >>> 0);
    case BPF_AND:
      return a & src;
    case BPF_OR:
      return a | src;
    case BPF_XOR:
      return a ^ src;
    case BPF_LSH:
      return src >= 32 ? 0 : a << src;
    case BPF_RSH:
      return src >= 32 ? 0 : a >>> src;
    case BPF_NEG:
      return -a;
    default:
      throw new Error(`unknown BPF ALU operation 0x${op.toString(16)}`);
  }
}
