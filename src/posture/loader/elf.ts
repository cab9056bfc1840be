/**
 * Pure: the program interpreter (PT_INTERP) an ELF executable names, from its first bytes. Only
 * 64-bit little-endian files are read (the architectures the seccomp builder supports); anything
 * else, or anything malformed, has no interpreter here.
 */
const PT_INTERP = 3;

export function elfInterpreter(head: Buffer): string | undefined {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
  if (head[4] !== 2 || head[5] !== 1) return undefined;
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  if (phentsize < 56) return undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > head.length) return undefined;
    if (head.readUInt32LE(at) !== PT_INTERP) continue;
    const offset = Number(head.readBigUInt64LE(at + 8));
    const size = Number(head.readBigUInt64LE(at + 32));
    if (size < 2 || size > 4096 || offset + size > head.length) return undefined;
    const name = head.subarray(offset, offset + size);
    if (name[size - 1] !== 0) return undefined;
    const text = name.subarray(0, size - 1).toString('latin1');
    return text.startsWith('/') && !text.includes('\0') ? text : undefined;
  }
  return undefined;
}

const SHT_DYNSYM = 11;
const SHN_UNDEF = 0;
const STB_LOCAL = 0;
/** Most bytes of one symbol, string or relocation table read (libLLVM's are the largest, a few MB). */
const MAX_TABLE_BYTES = 64 * 1024 * 1024;
/** Most bytes of relocations read from one file, most sections, longest symbol name. */
const MAX_RELOCATION_BYTES = 256 * 1024 * 1024;
const MAX_SECTIONS = 4096;
const MAX_NAME = 4096;

/** Read `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

/** The dynamic symbols of one object, by name: what it defines for others, and what it looks up. */
export interface DynamicSymbols {
  /** Every defined symbol that is not local, whatever its version or visibility. */
  readonly defined: ReadonlySet<string>;
  /**
   * Every symbol a dynamic relocation of it names, and every undefined one: what the loader looks
   * up for it. A shared object's references to its own global symbols are looked up too (another
   * object may come first): C++ libraries each define their own copy of inline functions.
   */
  readonly wanted: readonly string[];
  /**
   * It names its own library search path (DT_RPATH or DT_RUNPATH): where it looks then depends
   * on where it is run from ($ORIGIN, relative entries), which a listing elsewhere cannot show.
   */
  readonly searchPath: boolean;
}

const SHT_RELA = 4;
const SHT_REL = 9;
const SHT_DYNAMIC = 6;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/**
 * The dynamic symbol table of a 64-bit little-endian ELF file, and the symbols its dynamic
 * relocations name. Undefined when the file is not one, or its tables cannot be read.
 */
export async function elfDynamicSymbols(readAt: ReadAt): Promise<DynamicSymbols | undefined> {
  const h = await readAt(0, 64);
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return undefined;
  const shoff = Number(h.readBigUInt64LE(0x28));
  const shentsize = h.readUInt16LE(0x3a);
  const shnum = h.readUInt16LE(0x3c);
  if (shoff === 0 || shentsize !== 64 || shnum === 0 || shnum > MAX_SECTIONS) return undefined;
  const sh = await readAt(shoff, shnum * shentsize);
  if (sh.length < shnum * shentsize) return undefined;
  const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
    const at = i * shentsize;
    return { type: sh.readUInt32LE(at + 4), offset: Number(sh.readBigUInt64LE(at + 0x18)), size: Number(sh.readBigUInt64LE(at + 0x20)), link: sh.readUInt32LE(at + 0x28), entsize: Number(sh.readBigUInt64LE(at + 0x38)) };
  };
  // One dynamic symbol table, as the loader has (a second would be a file this reader misjudges).
  let dynsym = -1;
  for (let i = 0; i < shnum; i++) {
    if (section(i).type !== SHT_DYNSYM) continue;
    if (dynsym >= 0) return undefined;
    dynsym = i;
  }
  const table = async (s: { offset: number; size: number }): Promise<Buffer | undefined> => {
    if (s.size > MAX_TABLE_BYTES) return undefined;
    const b = await readAt(s.offset, s.size);
    return b.length < s.size ? undefined : b;
  };
  for (let i = dynsym; i >= 0 && i < shnum; i = shnum) {
    const s = section(i);
    if (s.link >= shnum || s.entsize < 24) return undefined;
    const [syms, names] = await Promise.all([table(s), table(section(s.link))]);
    if (!syms || !names) return undefined;
    const count = Math.floor(syms.length / s.entsize);
    const nameOf: Array<string | undefined> = new Array<string | undefined>(count);
    const defined = new Set<string>();
    const wanted = new Set<string>();
    for (let k = 0; k < count; k++) {
      const at = k * s.entsize;
      const nameAt = syms.readUInt32LE(at);
      if (nameAt === 0) continue;
      // A name past the table, or longer than any symbol's: a table this reader does not trust.
      if (nameAt >= names.length) return undefined;
      const end = names.subarray(nameAt, nameAt + MAX_NAME).indexOf(0);
      if (end < 0) return undefined;
      const name = names.toString('latin1', nameAt, nameAt + end);
      nameOf[k] = name;
      if ((syms[at + 4] ?? 0) >> 4 === STB_LOCAL) continue;
      if (syms.readUInt16LE(at + 6) === SHN_UNDEF) wanted.add(name);
      else defined.add(name);
    }
    // Every relocation section against this symbol table: the symbol index is r_info's high half.
    // A relocation section against another table, or an index past this one, is not understood.
    let relocationBytes = 0;
    for (let r = 0; r < shnum; r++) {
      const rs = section(r);
      if (rs.type !== SHT_RELA && rs.type !== SHT_REL) continue;
      if (rs.link !== i && rs.size > 0) return undefined;
      const step = rs.entsize >= (rs.type === SHT_RELA ? 24 : 16) ? rs.entsize : 0;
      relocationBytes += rs.size;
      if (relocationBytes > MAX_RELOCATION_BYTES) return undefined;
      const rel = step > 0 ? await table(rs) : undefined;
      if (!rel) return undefined;
      for (let at = 0; at + step <= rel.length; at += step) {
        const k = rel.readUInt32LE(at + 12);
        if (k === 0) continue;
        if (k >= count) return undefined;
        const name = nameOf[k];
        if (name !== undefined) wanted.add(name);
      }
    }
    let searchPath = false;
    for (let d = 0; d < shnum && !searchPath; d++) {
      const ds = section(d);
      if (ds.type !== SHT_DYNAMIC) continue;
      const dyn = await table(ds);
      if (!dyn) return undefined;
      for (let at = 0; at + 16 <= dyn.length; at += 16) {
        const tag = Number(dyn.readBigInt64LE(at));
        if (tag === 0) break;
        if (tag === DT_RPATH || tag === DT_RUNPATH) searchPath = true;
      }
    }
    return { defined, wanted: [...wanted], searchPath };
  }
  return undefined;
}
