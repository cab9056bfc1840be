/**
 * Hashing open files (src/util/hash.ts): the pipelined reader, the worker thread, the choice
 * between them, and digestInput's single pass on top of the reader (head, markers, sha256, seal).
 * Every digest is compared with node:crypto over the same bytes read in one piece.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunksOf, OFF_THREAD_MIN_BYTES, sha256OffThread, sha256OfFile, sha256OfHandle } from '../../src/util/hash.js';
import { digestInput } from '../../src/inspect/file.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'zt-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(name: string, bytes: Buffer): { path: string; sha256: string } {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return { path: p, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345];

describe('sha256 of an open file', () => {
  it.each(sizes)('the pipelined reader and the worker agree with one-piece hashing (%i bytes)', async (size) => {
    const f = fileOf(`f-${size}`, randomBytes(size));
    const h = await open(f.path);
    try {
      expect(await sha256OfHandle(h)).toEqual({ sha256: f.sha256, bytes: size });
      expect(await sha256OffThread(h.fd)).toEqual({ sha256: f.sha256, bytes: size });
    } finally {
      await h.close();
    }
  });

  it('reads every byte once, in order, in chunks of at most 1 MiB', async () => {
    const bytes = randomBytes(2 * MiB + 7);
    const f = fileOf('order', bytes);
    const h = await open(f.path);
    try {
      const seen: Buffer[] = [];
      let expected = 0;
      for await (const { data, pos } of chunksOf(h)) {
        expect(pos).toBe(expected);
        expect(data.length).toBeLessThanOrEqual(MiB);
        seen.push(Buffer.from(data)); // the reader reuses its buffers
        expected += data.length;
      }
      expect(Buffer.concat(seen).equals(bytes)).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('a caller that stops early leaves no read in flight (the handle closes cleanly)', async () => {
    const f = fileOf('early', randomBytes(3 * MiB));
    const h = await open(f.path);
    for await (const { pos } of chunksOf(h)) {
      expect(pos).toBe(0);
      break;
    }
    await expect(h.close()).resolves.toBeUndefined();
  });

  it('a large file goes to the worker thread, a small one stays here; both give the same digest', async () => {
    const big = fileOf('big', Buffer.alloc(OFF_THREAD_MIN_BYTES + 5, 0x5a));
    const h = await open(big.path);
    try {
      expect(await sha256OfFile(h, OFF_THREAD_MIN_BYTES + 5)).toEqual({ sha256: big.sha256, bytes: OFF_THREAD_MIN_BYTES + 5 });
      expect(await sha256OfFile(h, 1)).toEqual({ sha256: big.sha256, bytes: OFF_THREAD_MIN_BYTES + 5 });
    } finally {
      await h.close();
    }
  });

  it('a worker that cannot read its descriptor rejects; it never reports a digest', async () => {
    await expect(sha256OffThread(-1)).rejects.toThrow();
  });
});

describe('digestInput over the pipelined reader', () => {
  it('keeps the head, finds a marker split across two reads, and hashes everything', async () => {
    const bytes = randomBytes(2 * MiB).fill(0, MiB - 20, MiB + 20);
    bytes.write('#EXTM3U', MiB - 3, 'latin1'); // straddles the first 1 MiB read
    const f = fileOf('marker', bytes);
    const h = await open(f.path);
    try {
      const d = await digestInput(h, bytes.length);
      expect(d.sha256).toBe(f.sha256);
      expect(d.bytes).toBe(bytes.length);
      expect(d.head.equals(bytes.subarray(0, 256 * 1024))).toBe(true);
      expect(d.markers).toContainEqual({ marker: '#EXTM3U', offset: MiB - 3 });
    } finally {
      await h.close();
    }
  });
});
