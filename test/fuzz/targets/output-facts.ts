/**
 * The output's container readers (src/verify/facts): real ffmpeg outputs (mp4, mov, m4a, mkv,
 * webm, wav, flac, ogg, opus, mp3, png, jpeg, made in setup), mutated byte by byte and in their tables' numbers (the
 * 32-bit fields a compromised muxer controls: sizes, counts, offsets). Every input: only a typed
 * verdict (facts, refused, unsupported), never an exception; bounded reads; facts with finite
 * numbers. Oracle: a file the reader accepted, with a payload appended and its last top-level
 * box's size patched to cover it, must be refused (for mp4, whose mdat is last).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readContainerFacts } from '../../../src/verify/facts/index.js';
import { MAX_MOOV_BYTES } from '../../../src/verify/facts/isobmff.js';
import { WINDOW_BYTES } from '../../../src/inspect/structure/source.js';
import { havoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, splitHeader, withHeader, type Finding, type Target } from '../target.js';
import { exec } from '../../../src/util/exec.js';

export interface FactsInput {
  readonly bytes: Buffer;
  readonly expect?: 'refuse';
  readonly why?: string;
}

const AV = ['-f', 'lavfi', '-i', 'testsrc2=s=96x64:r=10:d=1', '-f', 'lavfi', '-i', 'sine=d=1:sample_rate=8000'];
const RECIPES: ReadonlyArray<readonly string[]> = [
  [...AV, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-movflags', '+faststart', '-f', 'mp4'],
  [...AV, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'mov'],
  [...AV, '-vn', '-c:a', 'aac', '-f', 'ipod'],
  [...AV, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'libopus', '-f', 'matroska'],
  [...AV, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', '-f', 'webm'],
  [...AV, '-vn', '-c:a', 'pcm_s16le', '-f', 'wav'],
  [...AV, '-vn', '-c:a', 'flac', '-f', 'flac'],
  [...AV, '-vn', '-c:a', 'libvorbis', '-f', 'ogg'],
  [...AV, '-vn', '-c:a', 'libopus', '-f', 'ogg'],
  [...AV, '-vn', '-c:a', 'libmp3lame', '-q:a', '4', '-f', 'mp3'],
  [...AV, '-frames:v', '1', '-c:v', 'png', '-f', 'image2'],
  [...AV, '-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2'],
];

/** Overwrite a 32-bit field somewhere in the first part of the file (where the tables are) with an edge value. */
function numberMutation(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let k = 1 + rng.small(3); k > 0 && out.length >= 8; k--) {
    const at = rng.int(Math.min(out.length, rng.bool(0.7) ? 4096 : out.length) - 4);
    const v = rng.pick([0, 1, 2, 7, 8, 16, 0x7fffffff, 0xffffffff, out.length, out.length - at, out.readUInt32BE(at) + 1, out.readUInt32BE(at) - 1 >>> 0]);
    out.writeUInt32BE(v >>> 0, at);
  }
  return out;
}

function grownLastBox(b: Buffer, payload: Buffer): Buffer | undefined {
  let pos = 0;
  let last = -1;
  while (pos + 8 <= b.length) {
    const size = b.readUInt32BE(pos);
    if (size < 8) return undefined;
    last = pos;
    pos += size;
  }
  if (pos !== b.length || last < 0 || b.toString('latin1', last + 4, last + 8) !== 'mdat') return undefined;
  const out = Buffer.concat([b, payload]);
  out.writeUInt32BE(b.readUInt32BE(last) + payload.length, last);
  return out;
}

function finite(facts: Awaited<ReturnType<typeof readContainerFacts>>): Finding | undefined {
  if (facts.kind !== 'facts') return undefined;
  const p = facts.probe;
  const nums = [p.duration, ...p.streams.flatMap((s) => [s.width, s.height, s.frameRate, s.sampleRate, s.channels, s.duration])];
  if (nums.some((n) => n !== undefined && (typeof n !== 'number' || Number.isNaN(n)))) return { kind: 'shape', message: `facts with a non-number: ${JSON.stringify(p).slice(0, 300)}` };
  if (p.streams.some((s) => typeof s.codecType !== 'string')) return { kind: 'shape', message: 'a stream without a type' };
  return undefined;
}

export function outputFactsTarget(): Target<FactsInput> {
  const seeds: Buffer[] = [];
  let dir = '';
  return {
    name: 'output-facts',
    sources: ['src/verify/facts/index.ts', 'src/verify/facts/isobmff.ts', 'src/verify/facts/boxes.ts', 'src/verify/facts/matroska.ts', 'src/verify/facts/riff-wave.ts', 'src/verify/facts/audio.ts', 'src/verify/facts/stills.ts'],
    ext: 'bin',
    async setup() {
      dir = await mkdtemp(path.join(os.tmpdir(), 'zt-fuzz-facts-'));
      for (const [i, r] of RECIPES.entries()) {
        const f = path.join(dir, `seed-${i}`);
        const made = await exec('/usr/bin/ffmpeg', ['-y', '-v', 'error', '-nostdin', ...r, f], { timeoutMs: 60_000 });
        if (made.exitCode !== 0) throw new Error(`cannot make seed ${i}: ${made.spawnError ?? made.stderr.trim()}`);
        seeds.push(await readFile(f));
      }
    },
    async teardown() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
    generate(rng) {
      const seed = rng.pick(seeds);
      if (rng.bool(0.1)) {
        const grown = grownLastBox(seed, Buffer.concat([Buffer.from('#!/bin/sh\n'), rng.bytes(1 + rng.small(200))]));
        if (grown) return { bytes: grown, expect: 'refuse', why: 'a payload appended inside mdat (its size patched)' };
      }
      return { bytes: rng.bool(0.5) ? numberMutation(rng, seed) : havoc(rng, seed) };
    },
    async check(input) {
      let maxRead = 0;
      let readBytes = 0;
      let facts;
      try {
        facts = await readContainerFacts(async (into, position) => {
          maxRead = Math.max(maxRead, into.length);
          if (position >= input.bytes.length) return 0;
          const n = input.bytes.copy(into, 0, position, Math.min(input.bytes.length, position + into.length));
          readBytes += n;
          return n;
        }, input.bytes.length);
      } catch (e) {
        return crash('readContainerFacts', e);
      }
      if (maxRead > Math.max(WINDOW_BYTES, MAX_MOOV_BYTES)) return { kind: 'bound', message: `a read of ${maxRead} bytes` };
      if (readBytes > 4 * input.bytes.length + 16 * WINDOW_BYTES) return { kind: 'bound', message: `read ${readBytes} bytes of a ${input.bytes.length}-byte file` };
      if (input.expect === 'refuse' && facts.kind === 'facts') return { kind: 'bypass', message: `${input.why ?? 'an oracle input'}, but the reader stated facts` };
      return finite(facts);
    },
    budgetMs: (input) => 200 + input.bytes.length / 10_000,
    encode: (input) => withHeader({ ...(input.expect ? { expect: input.expect, why: input.why } : {}) }, input.bytes),
    decode(bytes) {
      const { header, body } = splitHeader(bytes);
      return { bytes: body, ...(header['expect'] === 'refuse' ? { expect: 'refuse' as const, why: String(header['why'] ?? '') } : {}) };
    },
  };
}
