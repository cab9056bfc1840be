/** Streaming line reader over a file: constant memory whatever the file's length. */
import { promises as fs } from 'node:fs';

export interface RawLine {
  /** 1-based line number. */
  readonly lineNo: number;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
  /** The line's bytes without its "\n". */
  readonly bytes: Buffer;
  /** False only for a last line with no terminating "\n". */
  readonly complete: boolean;
}

const CHUNK = 1 << 20;

/**
 * Yield the lines of `path` from byte `start` (default 0; must be a line start).
 * `firstLineNo` numbers the first yielded line. An empty unterminated tail is not yielded.
 */
export async function* readLines(path: string, opts: { start?: number; firstLineNo?: number } = {}): AsyncGenerator<RawLine> {
  const fh = await fs.open(path, 'r');
  try {
    let position = opts.start ?? 0;
    let lineNo = opts.firstLineNo ?? 1;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = position;
    const size = (await fh.stat()).size;
    for (;;) {
      // Size the buffer to what is left (small logs are the common case); at least
      // one byte so that growth past the stat()ed size is still read.
      const want = Math.min(CHUNK, Math.max(size - position, 1));
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl === -1) break;
        yield { lineNo, offset: carryOffset + start, bytes: data.subarray(start, nl), complete: true };
        lineNo++;
        start = nl + 1;
      }
      carry = data.subarray(start);
      carryOffset += start;
    }
    if (carry.length > 0) yield { lineNo, offset: carryOffset, bytes: carry, complete: false };
  } finally {
    await fh.close();
  }
}
