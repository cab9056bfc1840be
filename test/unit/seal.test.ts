/**
 * The keyed seal (src/util/seal.ts) that proves an input's bytes did not change during a job:
 * real files, real reads, node:crypto's AES-GCM. It must tell apart any change (one bit
 * anywhere, a byte more or less, the same bytes in another order) and only the same bytes
 * may match; its key and tag never show in JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, truncateSync, appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSeal } from '../../src/util/seal.js';
import { digestInput } from '../../src/inspect/file.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'zt-seal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sealOf(bytes: Buffer, pieces: number[] = [bytes.length]): ReturnType<ReturnType<typeof startSeal>['finish']> {
  const s = startSeal();
  let at = 0;
  for (const n of pieces) {
    s.update(bytes.subarray(at, at + n));
    at += n;
  }
  s.update(bytes.subarray(at));
  return s.finish();
}

describe('ContentSeal', () => {
  it('matches the same bytes fed in pieces of any length (GCM additional data in pieces)', () => {
    const bytes = randomBytes(100_003);
    const seal = sealOf(bytes);
    for (const pieces of [[1, 15, 16, 17], [4096, 1], [50_000, 50_000, 3], []]) {
      const again = seal.again();
      let at = 0;
      for (const n of pieces) {
        again.update(bytes.subarray(at, at + n));
        at += n;
      }
      again.update(bytes.subarray(at));
      expect(seal.matches(again.finish())).toBe(true);
    }
  });

  it('refuses one flipped bit anywhere, a byte more, a byte less, and swapped blocks', () => {
    const bytes = randomBytes(64 * 1024);
    const seal = sealOf(bytes);
    const check = (other: Buffer): boolean => {
      const s = seal.again();
      s.update(other);
      return seal.matches(s.finish());
    };
    for (const at of [0, 15, 16, 4095, 32_768, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at] = (flipped[at] ?? 0) ^ 0x01;
      expect(check(flipped)).toBe(false);
    }
    expect(check(Buffer.concat([bytes, Buffer.alloc(1)]))).toBe(false);
    expect(check(bytes.subarray(0, bytes.length - 1))).toBe(false);
    expect(check(Buffer.concat([bytes.subarray(16, 32), bytes.subarray(0, 16), bytes.subarray(32)]))).toBe(false);
    expect(check(bytes)).toBe(true);
  });

  it('two seals of the same bytes have their own keys: neither vouches for the other', () => {
    const bytes = randomBytes(1000);
    const a = sealOf(bytes);
    const b = sealOf(bytes);
    expect(a.matches(b)).toBe(false);
    expect(b.matches(a)).toBe(false);
  });

  it('shows neither its key nor its tag in JSON', () => {
    const seal = sealOf(Buffer.from('the input bytes'));
    expect(JSON.stringify(seal)).toBe('{"bytes":15}');
    expect(JSON.stringify({ digest: { seal } })).not.toMatch(/key|tag|nonce/);
  });
});

describe('the seal made by digestInput, checked against the file later', () => {
  async function digestOf(name: string, bytes: Buffer): Promise<{ file: string; seal: Awaited<ReturnType<typeof digestInput>>['seal'] }> {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    const h = await open(file);
    try {
      return { file, seal: (await digestInput(h, bytes.length)).seal };
    } finally {
      await h.close();
    }
  }

  async function stillMatches(file: string, seal: Awaited<ReturnType<typeof digestOf>>['seal']): Promise<boolean> {
    const h = await open(file);
    try {
      return await seal.matchesFile(h);
    } finally {
      await h.close();
    }
  }

  it('matches the unchanged file, read again through another descriptor', async () => {
    const d = await digestOf('same', randomBytes(3 * MiB + 5));
    expect(await stillMatches(d.file, d.seal)).toBe(true);
  });

  it('fails after one byte is rewritten in place (same size), past the first 1 MiB read', async () => {
    const bytes = randomBytes(3 * MiB);
    const d = await digestOf('rewritten', bytes);
    const h = await open(d.file, 'r+');
    try {
      const b = Buffer.from([(bytes[2 * MiB + 7] ?? 0) ^ 0xff]);
      await h.write(b, 0, 1, 2 * MiB + 7);
    } finally {
      await h.close();
    }
    expect(await stillMatches(d.file, d.seal)).toBe(false);
  });

  it('fails after the file grows or shrinks', async () => {
    const grown = await digestOf('grown', randomBytes(MiB));
    appendFileSync(grown.file, Buffer.from([0]));
    expect(await stillMatches(grown.file, grown.seal)).toBe(false);
    const shrunk = await digestOf('shrunk', randomBytes(MiB));
    truncateSync(shrunk.file, MiB - 1);
    expect(await stillMatches(shrunk.file, shrunk.seal)).toBe(false);
  });
});
