/**
 * Bounded reads for the walkers: a read-through window over positioned reads. `peek` answers
 * from the window without awaiting (walkers use it on every element header, so a file of two
 * million 8-byte boxes costs two million synchronous look-ups, not two million awaits); `bytes`
 * refills it. What a walk holds in memory is this one window, whatever the file.
 */

/** Positioned reads: fills `buf` from `position`, returns the bytes read (0 at EOF). */
export type ReadAt = (buf: Buffer, position: number) => Promise<number>;

/** The window; also the largest single read a walker may ask for. */
export const WINDOW_BYTES = 256 * 1024;

export class Source {
  /** The window and the file offset of its first byte (read directly by the hot loops). */
  window: Buffer = Buffer.alloc(0);
  windowAt = 0;

  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
  ) {}

  /** Whether the window holds `len` bytes at `pos` (fewer at EOF): then read them at window[pos - windowAt]. */
  has(pos: number, len: number): boolean {
    return pos >= this.windowAt && Math.min(pos + len, this.size) <= this.windowAt + this.window.length;
  }

  /** Refill the window from `pos` (so that `has(pos, len)` holds for len up to WINDOW_BYTES). */
  async fill(pos: number, len: number): Promise<void> {
    await this.bytes(pos, len);
  }

  /** Up to `len` bytes at `pos` (fewer at EOF) if the window holds them; otherwise undefined. */
  peek(pos: number, len: number): Buffer | undefined {
    const want = Math.max(0, Math.min(len, this.size - pos));
    if (pos >= this.windowAt && pos + want <= this.windowAt + this.window.length) {
      return this.window.subarray(pos - this.windowAt, pos - this.windowAt + want);
    }
    return undefined;
  }

  /** Up to `len` bytes at `pos` (fewer at EOF, or if the file shrank under us). */
  async bytes(pos: number, len: number): Promise<Buffer> {
    if (len > WINDOW_BYTES) throw new Error(`internal error: a structure walker asked for ${len} bytes at once`);
    const hit = this.peek(pos, len);
    if (hit) return hit;
    if (pos >= this.size || len <= 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(Math.min(WINDOW_BYTES, this.size - pos));
    let got = 0;
    while (got < buf.length) {
      const r = await this.readAt(buf.subarray(got), pos + got);
      if (r === 0) break;
      got += r;
    }
    this.window = buf.subarray(0, got);
    this.windowAt = pos;
    return this.window.subarray(0, Math.min(len, got));
  }

  /** One byte, or undefined at EOF. */
  async byte(pos: number): Promise<number | undefined> {
    return (this.peek(pos, 1) ?? (await this.bytes(pos, 1)))[0];
  }
}
