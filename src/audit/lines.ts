/**
 * Streaming line reader over a file: constant memory whatever the file's length, and linear
 * time whatever its lines' lengths. A line's pieces are kept as a list and joined once, when
 * its "\n" arrives (never re-copied per chunk), and no more than `maxLineBytes + 1` bytes of a
 * line are kept: a longer line is yielded with its true length and only its first bytes, so
 * every reader can refuse it without holding it (decodeRecord refuses anything over
 * MAX_RECORD_BYTES).
 */
import { promises as fs } from 'node:fs';

export interface RawLine {
  /** 1-based line number. */
  readonly lineNo: number;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
  /** The line's bytes without its "\n" (only the first maxLineBytes + 1 of a longer line). */
  readonly bytes: Buffer;
  /** The line's length in bytes, without its "\n" (larger than bytes.length for an over-long line). */
  readonly length: number;
  /** False only for a last line with no terminating "\n". */
  readonly complete: boolean;
}

const CHUNK = 1 << 20;

/** An audit record is a few KiB; lines longer than this are never held whole. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** The bytes of a line in progress: pieces in order, at most `keep` bytes of them. */
class Pending {
  private parts: Buffer[] = [];
  private kept = 0;
  length = 0;
  constructor(private readonly keep: number) {}

  add(piece: Buffer): void {
    this.length += piece.length;
    if (this.kept >= this.keep || piece.length === 0) return;
    const take = piece.subarray(0, this.keep - this.kept);
    // Copy only the kept bytes, so a long line does not keep every 1 MiB chunk it spans alive.
    this.parts.push(Buffer.from(take));
    this.kept += take.length;
  }

  /** The line so far plus `last`, joined once. */
  finish(last: Buffer): { bytes: Buffer; length: number } {
    const length = this.length + last.length;
    const tail = last.subarray(0, Math.max(0, this.keep - this.kept));
    const bytes = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.kept = 0;
    this.length = 0;
    return { bytes, length };
  }

  get empty(): boolean {
    return this.length === 0;
  }
}

/**
 * Yield the lines of `path` from byte `start` (default 0; must be a line start).
 * `firstLineNo` numbers the first yielded line. An empty unterminated tail is not yielded.
 */
export async function* readLines(path: string, opts: { start?: number; firstLineNo?: number; maxLineBytes?: number } = {}): AsyncGenerator<RawLine> {
  const fh = await fs.open(path, 'r');
  try {
    let position = opts.start ?? 0;
    let lineNo = opts.firstLineNo ?? 1;
    let lineOffset = position;
    const pending = new Pending((opts.maxLineBytes ?? MAX_LINE_BYTES) + 1);
    const size = (await fh.stat()).size;
    for (;;) {
      // Size the buffer to what is left (small logs are the common case); at least
      // one byte so that growth past the stat()ed size is still read.
      const want = Math.min(CHUNK, Math.max(size - position, 1));
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, position);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        const { bytes, length } = pending.finish(data.subarray(start, nl));
        yield { lineNo, offset: lineOffset, bytes, length, complete: true };
        lineNo++;
        lineOffset += length + 1;
        start = nl + 1;
      }
      pending.add(data.subarray(start));
      position += bytesRead;
    }
    if (!pending.empty) {
      const { bytes, length } = pending.finish(Buffer.alloc(0));
      yield { lineNo, offset: lineOffset, bytes, length, complete: false };
    }
  } finally {
    await fh.close();
  }
}

/** How many times a reader reads again a last line that may have been in flight. */
export const IN_FLIGHT_REREADS = 3;

/** How long a reader waits before its second look at a log that ended mid-line. */
const IN_FLIGHT_PAUSE_MS = 10;

/**
 * Whether a last line a reader saw without its newline (`line`: where it starts, how long it
 * was) may have been a record in flight, so that reading again from its start can tell. A writer
 * appends each record with one write(2) under its lock, but a reader takes no lock and the kernel
 * may let it see that write half-copied: then the log grows past the line, or shrinks back to its
 * start (the writer cuts off a write that failed). A torn line that stays (a crash mid-write, a
 * cut) does neither: this writer refuses to extend a log that is not exactly what its checkpoint
 * records (head.ts), so nothing appends behind it. Anyone else who can write the file can make it
 * grow, which earns a bounded number of readings and nothing else: each reading is judged whole.
 * Two looks, the second after a short pause for a writer descheduled mid-copy.
 */
export async function lineMayBeInFlight(path: string, line: Pick<RawLine, 'offset' | 'length'>): Promise<boolean> {
  const end = line.offset + line.length;
  for (const pause of [0, IN_FLIGHT_PAUSE_MS]) {
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    const now = await fs.stat(path).then((st) => st.size, () => end);
    if (now > end || now === line.offset) return true;
  }
  return false;
}
