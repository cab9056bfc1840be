/** Positioned reads of an output for the readers: exactly `len` bytes, or a refusal naming what was cut. */
import { FactsRefusal } from './result.js';
import type { ReadAt } from '../../inspect/structure.js';

export async function bytesAt(readAt: ReadAt, pos: number, len: number, what = 'an element'): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const r = await readAt(buf.subarray(got), pos + got);
    if (r === 0) throw new FactsRefusal(`the file ends inside ${what}`);
    got += r;
  }
  return buf;
}
