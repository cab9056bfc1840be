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

/** Length of one pacing window. */
const WINDOW_MS = 100;

export interface Drain {
  /** Resolves when the stream has ended (or errored): every byte was read. */
  readonly done: Promise<void>;
}

/**
 * Read `stream` until it ends, handing every chunk to `onChunk`, at most `bytesPerSecond` on
 * average: when a window's share is spent, the stream is paused (not closed) until the next.
 */
export function drainPaced(stream: Readable, bytesPerSecond: number, onChunk: (chunk: Buffer) => void): Drain {
  const perWindow = Math.max(1, Math.floor((bytesPerSecond * WINDOW_MS) / 1000));
  let windowStart = performance.now();
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  stream.on('data', (c: Buffer | string) => {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    onChunk(chunk);
    const now = performance.now();
    if (now - windowStart >= WINDOW_MS) {
      windowStart = now;
      used = 0;
    }
    used += chunk.length;
    if (used < perWindow || timer) return;
    stream.pause();
    // Resume when the debt is paid: a chunk larger than the window's share waits longer.
    const waitMs = Math.max(0, WINDOW_MS - (now - windowStart)) + (WINDOW_MS * Math.max(0, used - perWindow)) / perWindow;
    timer = setTimeout(() => {
      timer = undefined;
      windowStart = performance.now();
      used = 0;
      stream.resume();
    }, waitMs);
  });
  return { done };
}
