/**
 * The streaming digest and embedded-playlist marker scan (src/inspect/file.ts digestInput), fed
 * by a descriptor whose reads return random short counts (as a network file system may).
 * Oracles: the sha256 equals a plain hash of the bytes, the head equals their first bytes, and
 * the first offset of every marker equals what a plain indexOf over the whole buffer finds,
 * wherever the read boundaries fall.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { EMBEDDED_MARKERS, digestInput } from '../../../src/inspect/file.js';
import { Rng } from '../rng.js';
import { crash, splitHeader, withHeader, type Target } from '../target.js';

interface MarkerInput {
  readonly bytes: Buffer;
  /** Seeds the short reads. */
  readonly readSeed: number;
}

function shortReads(bytes: Buffer, seed: number): FileHandle {
  const rng = new Rng(seed);
  const read = async (buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Buffer }> => {
    const n = Math.min(length, bytes.length - position, rng.bool(0.3) ? 1 + rng.small(40) : length);
    if (n <= 0) return { bytesRead: 0, buffer: buf };
    bytes.copy(buf, offset, position, position + n);
    return { bytesRead: n, buffer: buf };
  };
  return { read } as unknown as FileHandle;
}

export function markerTarget(): Target<MarkerInput> {
  return {
    name: 'marker-scan',
    sources: ['src/inspect/file.ts'],
    ext: 'bin',
    generate(rng: Rng) {
      const parts: Buffer[] = [];
      for (let n = rng.small(12); n >= 0; n--) {
        const m = rng.pick([...EMBEDDED_MARKERS, '#EXT', '#EX', 'ffconcat', 'ffconcat versio', '#EXT-X', '#EXTM3', '\n']);
        parts.push(rng.bytes(rng.small(3000)), Buffer.from(rng.bool(0.8) ? m : m.slice(0, rng.int(m.length)), 'latin1'));
      }
      return { bytes: Buffer.concat(parts), readSeed: rng.int(2 ** 31) };
    },
    async check(input) {
      let d;
      try {
        d = await digestInput(shortReads(input.bytes, input.readSeed), input.bytes.length);
      } catch (e) {
        return crash('digestInput', e);
      }
      if (d.sha256 !== createHash('sha256').update(input.bytes).digest('hex') || d.bytes !== input.bytes.length) return { kind: 'bypass', message: 'the streaming digest differs from a plain sha256 of the bytes' };
      if (!d.head.equals(input.bytes.subarray(0, d.head.length))) return { kind: 'bypass', message: 'the head kept for magic detection differs from the first bytes' };
      for (const m of EMBEDDED_MARKERS) {
        const plain = input.bytes.indexOf(m, 0, 'latin1');
        const got = d.markers.find((x) => x.marker === m)?.offset;
        if ((plain < 0 ? undefined : plain) !== got) return { kind: 'bypass', message: `marker "${m}" first at byte ${plain}, the streaming scan (short reads) says ${got}` };
      }
      return undefined;
    },
    budgetMs: () => 200,
    encode: (input) => withHeader({ readSeed: input.readSeed }, input.bytes),
    decode(bytes) {
      const { header, body } = splitHeader(bytes);
      return { bytes: body, readSeed: Number(header['readSeed'] ?? 1) };
    },
  };
}
