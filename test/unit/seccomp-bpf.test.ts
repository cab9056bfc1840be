import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH_X86_64,
  Assembler,
  BPF_ABS,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  NEXT,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRAP,
  argHigh,
  argLow,
  deserialize,
  insn,
  retErrno,
  serialize,
} from '../../src/sandbox/seccomp/bpf.js';
import { checkProgram, decodeReturn, evaluate, seccompData } from '../../src/sandbox/seccomp/evaluate.js';

describe('sock_filter layout', () => {
  it('serializes 8 little-endian bytes per instruction: code u16, jt u8, jf u8, k u32', () => {
    const buf = serialize([insn(BPF_LD | BPF_W | BPF_ABS, 4), insn(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 2)]);
    expect(buf.toString('hex')).toBe('2000000004000000' + '150001023e0000c0');
    expect(deserialize(buf)).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 2, k: 0xc000003e },
    ]);
  });

  it('refuses out-of-range fields and truncated programs', () => {
    expect(() => insn(0x10000)).toThrow(RangeError);
    expect(() => insn(BPF_RET, 0, 256)).toThrow(RangeError);
    expect(() => insn(BPF_RET, 2 ** 32)).toThrow(RangeError);
    expect(() => deserialize(Buffer.alloc(12))).toThrow(/multiple of 8/);
    expect(() => retErrno(0)).toThrow(RangeError);
    expect(() => retErrno(4096)).toThrow(RangeError);
  });

  it('knows the seccomp_data offsets (args are 64-bit, little-endian)', () => {
    expect([argLow(0), argHigh(0), argLow(5)]).toEqual([16, 20, 56]);
    expect(() => argLow(6)).toThrow(RangeError);
    const data = seccompData({ nr: 41, arch: AUDIT_ARCH_X86_64, args: [0x1_0000_0002n, 3] });
    expect(data.readInt32LE(0)).toBe(41);
    expect(data.readUInt32LE(4)).toBe(AUDIT_ARCH_X86_64);
    expect(data.readUInt32LE(16)).toBe(2);
    expect(data.readUInt32LE(20)).toBe(1);
    expect(data.readUInt32LE(24)).toBe(3);
  });
});

describe('decodeReturn', () => {
  it('maps every seccomp action', () => {
    expect(decodeReturn(SECCOMP_RET_ALLOW).action).toBe('allow');
    expect(decodeReturn(retErrno(13))).toMatchObject({ action: 'errno', errno: 13 });
    expect(decodeReturn(SECCOMP_RET_KILL_PROCESS)).toMatchObject({ action: 'kill', scope: 'process' });
    expect(decodeReturn(0)).toMatchObject({ action: 'kill', scope: 'thread' });
    expect(decodeReturn(SECCOMP_RET_TRAP).action).toBe('trap');
    expect(decodeReturn(SECCOMP_RET_LOG).action).toBe('log');
    expect(decodeReturn(0x12340000)).toMatchObject({ action: 'kill', scope: 'process' });
  });
});

describe('Assembler', () => {
  it('resolves forward labels and NEXT', () => {
    const asm = new Assembler()
      .ldAbs(0)
      .jump('jeq', 7, 'deny', NEXT)
      .jump('jset', 0x40000000, 'deny', 'allow')
      .label('allow')
      .ret(SECCOMP_RET_ALLOW)
      .label('deny')
      .ret(retErrno(1));
    const prog = asm.assemble();
    expect(prog).toHaveLength(5);
    expect(prog[1]).toMatchObject({ jt: 2, jf: 0 });
    expect(prog[2]).toMatchObject({ jt: 1, jf: 0 });
    expect(checkProgram(prog)).toEqual([]);
    expect(evaluate(prog, { nr: 7, arch: 0 })).toMatchObject({ action: 'errno', errno: 1 });
    expect(evaluate(prog, { nr: 8, arch: 0 }).action).toBe('allow');
    expect(evaluate(prog, { nr: 0x40000001, arch: 0 }).action).toBe('errno');
  });

  it('refuses backward jumps, unknown labels, duplicate labels and bad loads', () => {
    expect(() => new Assembler().label('a').ldAbs(0).jump('jeq', 1, 'a', NEXT).ret(0).assemble()).toThrow(/backwards/);
    expect(() => new Assembler().ldAbs(0).ja('nowhere').ret(0).assemble()).toThrow(/never defined/);
    expect(() => new Assembler().label('a').label('a')).toThrow(/twice/);
    expect(() => new Assembler().ldAbs(2)).toThrow(RangeError);
    expect(() => new Assembler().ldAbs(64)).toThrow(RangeError);
  });

  it('relaxes conditional jumps beyond 255 instructions through ja trampolines', () => {
    // 600 rules all jumping to one shared return at the very end: most targets are far.
    const asm = new Assembler().ldAbs(0);
    for (let nr = 0; nr < 600; nr += 1) asm.jump('jeq', nr * 3, 'deny', NEXT);
    asm.jump('jeq', 100_000, NEXT, 'allow'); // a far jf as well
    asm.ret(retErrno(2));
    asm.label('allow').ret(SECCOMP_RET_ALLOW);
    asm.label('deny').ret(retErrno(1));
    const prog = asm.assemble();
    expect(checkProgram(prog)).toEqual([]);
    expect(prog.every((i) => i.jt <= 255 && i.jf <= 255)).toBe(true);
    expect(prog.length).toBeGreaterThan(602);
    for (const nr of [0, 3, 297, 900, 1797]) expect(evaluate(prog, { nr, arch: 0 })).toMatchObject({ errno: 1 });
    for (const nr of [1, 298, 1798]) expect(evaluate(prog, { nr, arch: 0 }).action).toBe('allow');
    expect(evaluate(prog, { nr: 100_000, arch: 0 })).toMatchObject({ action: 'errno', errno: 2 });
  });

  it('relaxes a jump whose both targets are far', () => {
    const asm = new Assembler().ldAbs(0).jump('jeq', 5, 'five', 'other');
    for (let i = 0; i < 300; i += 1) asm.ret(retErrno(3)); // unreachable filler
    asm.label('five').ret(retErrno(5));
    asm.label('other').ret(SECCOMP_RET_ALLOW);
    const prog = asm.assemble();
    expect(checkProgram(prog)).toEqual([]);
    expect(evaluate(prog, { nr: 5, arch: 0 })).toMatchObject({ errno: 5 });
    expect(evaluate(prog, { nr: 6, arch: 0 }).action).toBe('allow');
  });
});

describe('checkProgram and evaluate', () => {
  it('reports what the kernel would refuse', () => {
    expect(checkProgram([])).toContain('program is empty');
    expect(checkProgram([insn(BPF_LD | BPF_W | BPF_ABS, 0)])).toContain('program does not end with a return');
    expect(checkProgram([insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), insn(BPF_RET)]).join()).toMatch(/outside the program/);
    expect(checkProgram([insn(BPF_LD | BPF_W | BPF_ABS, 6), insn(BPF_RET)]).join()).toMatch(/unaligned/);
    expect(checkProgram([insn(0x0d), insn(BPF_RET)]).join()).toMatch(/not allowed/);
    expect(() => evaluate([insn(BPF_LD | BPF_W | BPF_ABS, 0)], { nr: 0, arch: 0 })).toThrow(/invalid seccomp program/);
  });

  it('runs ALU, scratch memory and RET A', () => {
    // A = nr; A &= 0xff; M[0] = A; X = 7 (LDX IMM); A = M[0]; A += X; ret A
    const prog = [
      insn(BPF_LD | BPF_W | BPF_ABS, 0),
      insn(0x04 | 0x50, 0xff),
      insn(0x02, 0),
      insn(0x01, 7),
      insn(0x60, 0),
      insn(0x04 | 0x00 | 0x08, 0),
      insn(BPF_RET | 0x10),
    ];
    expect(checkProgram(prog)).toEqual([]);
    expect(evaluate(prog, { nr: 0x7fff0000 - 7 + 0x100, arch: 0 }).raw).toBe(((0x7fff0000 - 7 + 0x100) & 0xff) + 7);
  });
});
