/**
 * Bounds-checked reading of ISO-BMFF boxes held in memory (the `moov` of an output). Every
 * read goes through `Boxes`, which throws FactsRefusal on anything out of bounds: the bytes
 * were written by a process that parsed hostile input.
 */
import { FactsRefusal } from './result.js';

export interface Box {
  readonly type: string;
  /** Offset of the box's first header byte in the buffer. */
  readonly at: number;
  /** Offset of the body (after size, type and a 64-bit size if any). */
  readonly body: number;
  /** Offset one past the box's last byte. */
  readonly end: number;
}

/** The boxes that tile buf[from, to). */
export function childBoxes(buf: Buffer, from: number, to: number, where: string): Box[] {
  const out: Box[] = [];
  let pos = from;
  while (pos < to) {
    if (to - pos < 8) throw new FactsRefusal(`${to - pos} stray bytes at the end of ${where}`);
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (to - pos < 16) throw new FactsRefusal(`box "${type}" in ${where} is cut inside its 64-bit size`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    }
    if (size < header || pos + size > to) throw new FactsRefusal(`box "${type}" in ${where} has a size of ${size} that does not fit`);
    out.push({ type, at: pos, body: pos + header, end: pos + size });
    pos += size;
  }
  return out;
}

/** The one child of `type`, or undefined; two are refused (which would the player use?). */
export function onlyChild(boxes: readonly Box[], type: string, where: string): Box | undefined {
  const found = boxes.filter((b) => b.type === type);
  if (found.length > 1) throw new FactsRefusal(`${where} holds ${found.length} "${type}" boxes where one is allowed`);
  return found[0];
}

export function requireChild(boxes: readonly Box[], type: string, where: string): Box {
  const b = onlyChild(boxes, type, where);
  if (!b) throw new FactsRefusal(`${where} has no "${type}" box`);
  return b;
}

/** Reads inside one box: every offset is relative to its body and checked against its end. */
export class BoxReader {
  constructor(
    private readonly buf: Buffer,
    readonly box: Box,
  ) {}

  private at(off: number, len: number): number {
    const p = this.box.body + off;
    if (off < 0 || p + len > this.box.end) throw new FactsRefusal(`box "${this.box.type}" is too short (${this.box.end - this.box.body} bytes) for a field at byte ${off}`);
    return p;
  }

  get length(): number {
    return this.box.end - this.box.body;
  }

  u8(off: number): number {
    return this.buf.readUInt8(this.at(off, 1));
  }

  u16(off: number): number {
    return this.buf.readUInt16BE(this.at(off, 2));
  }

  u32(off: number): number {
    return this.buf.readUInt32BE(this.at(off, 4));
  }

  u64(off: number): number {
    const v = this.buf.readBigUInt64BE(this.at(off, 8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FactsRefusal(`box "${this.box.type}" holds a 64-bit value past 2^53`);
    return Number(v);
  }

  fourcc(off: number): string {
    const p = this.at(off, 4);
    return this.buf.toString('latin1', p, p + 4);
  }

  /** The boxes that tile the body from `off`. */
  children(off: number): Box[] {
    return childBoxes(this.buf, this.at(off, 0), this.box.end, `box "${this.box.type}"`);
  }

  /** A table of `count` entries of `width` bytes from `off`, checked to fit before anything is read. */
  table(off: number, count: number, width: number): number {
    this.at(off, count * width);
    return this.box.body + off;
  }

  get buffer(): Buffer {
    return this.buf;
  }
}
