/**
 * Reading what a sandboxed process writes, as data from a hostile writer: for the whole run
 * (a pipe closed on a live process is a process that runs on unobserved: ffmpeg ignores
 * SIGPIPE), at a bounded pace (the wrapper runs outside every limit, so a flood must not cost it
 * more than a bounded share of a core: past the pace the stream is paused, the pipe fills, and
 * the writer blocks), into a fixed amount of memory (the first and the last bytes, and a count
 * of all of them).
 */
import type { Readable } from 'node:stream';

/**
 * Keep the first `headBytes` and the last `tailBytes` of a stream; count every byte. Memory is
 * taken as bytes arrive (a capture that is given little holds little), never more than
 * headBytes + tailBytes.
 */
export class BoundedCapture {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer | undefined;
  /** Bytes written to the tail ring so far (its write position is tailWritten % tailBytes). */
  private tailWritten = 0;
  private total = 0;

  constructor(
    private readonly headBytes: number,
    private readonly tailBytes: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLength < this.headBytes) {
      const n = Math.min(rest.length, this.headBytes - this.headLength);
      // A copy: the stream may reuse its buffer.
      this.head.push(Buffer.from(rest.subarray(0, n)));
      this.headLength += n;
      rest = rest.subarray(n);
    }
    const size = this.tailBytes;
    if (rest.length === 0 || size === 0) return;
    this.tail ??= Buffer.alloc(size);
    if (rest.length >= size) rest = rest.subarray(rest.length - size);
    const at = this.tailWritten % size;
    const first = Math.min(rest.length, size - at);
    rest.copy(this.tail, at, 0, first);
    if (first < rest.length) rest.copy(this.tail, 0, first);
    this.tailWritten += rest.length;
  }

  /** The bytes past the head, in order (at most tailBytes of them). */
  private tailKept(): Buffer {
    if (!this.tail) return Buffer.alloc(0);
    const size = this.tailBytes;
    if (this.tailWritten <= size) return this.tail.subarray(0, this.tailWritten);
    const at = this.tailWritten % size;
    return Buffer.concat([this.tail.subarray(at), this.tail.subarray(0, at)]);
  }

  /** How many bytes fell between the head and the tail. */
  get omitted(): number {
    return this.total - this.headLength - Math.min(this.tailWritten, this.tailBytes);
  }

  /** The text kept: head, a marker saying how much was left out, tail (UTF-8, lossy at the cuts). */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = this.tailKept().toString('utf8');
    const omitted = this.omitted;
    return omitted > 0 ? `${head}\n[… ${omitted} bytes not kept …]\n${tail}` : head + tail;
  }
}

export interface Drain {
  /** Resolves when the stream has ended (or errored): every byte was read. */
  readonly done: Promise<void>;
  /** Stop reading (only for a writer the kill path could not reach: see supervise.ts). */
  stop(): void;
}

/** How fast a stream is read: bytes per second on average, and a pause after every read. */
export interface Pace {
  readonly bytesPerSecond: number;
  /**
   * Least time between two reads. A writer that sends many tiny writes (ffmpeg logs one line
   * per write) would otherwise cost a wakeup per line; with a gap, the stream's buffer collects
   * them and one read takes them all, so the reads per second are bounded.
   */
  readonly minGapMs: number;
}

/**
 * Read `stream` until it ends, in paused mode: on 'readable', take what is buffered (at most a
 * gap's share of bytesPerSecond), hand it to `onChunk` as one chunk, then wait minGapMs (or as
 * long as the share took) before reading again. Meanwhile the stream's buffer fills to its
 * high-water mark, Node stops reading the pipe, the pipe fills, and a faster writer blocks on
 * its write: the reader's cost is bounded however fast the writer writes, and the pipe is
 * never closed.
 */
export function drainPaced(stream: Readable, pace: Pace, onChunk: (chunk: Buffer) => void): Drain {
  const gapMs = Math.max(1, pace.minGapMs);
  const share = Math.max(1, Math.floor((pace.bytesPerSecond * gapMs) / 1000));
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const finish = (): void => {
    finished = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    resolveDone();
  };
  const pull = (): void => {
    if (finished || timer) return;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < share) {
      const c = stream.read() as Buffer | string | null;
      if (c === null) break;
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      parts.push(b);
      got += b.length;
    }
    if (got === 0) return; // wait for the next 'readable' (or 'end')
    onChunk(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    const waitMs = Math.max(gapMs, (got * 1000) / pace.bytesPerSecond);
    timer = setTimeout(() => {
      timer = undefined;
      pull();
    }, waitMs);
  };
  stream.on('readable', pull);
  stream.on('end', finish);
  stream.on('close', () => {
    // A closed stream may still hold what was read before it closed.
    if (timer) clearTimeout(timer);
    timer = undefined;
    pull();
    finish();
  });
  stream.on('error', finish);
  return {
    done,
    stop(): void {
      finish();
      stream.destroy();
    },
  };
}
