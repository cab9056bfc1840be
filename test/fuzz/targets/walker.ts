/**
 * One target per container walker. Inputs are element trees from the seeds, mutated with the
 * structure-aware operators and sometimes byte havoc; a tenth of them are oracles built from a
 * file the walker accepted: junk appended (must be refused), a cut strictly inside an element
 * (must be reported), the file twice (a second container: must be refused).
 * Every input: the walk never throws, reaches a verdict (complete), reads no more than one
 * window at a time and in total at most about twice the file.
 */
import { walkStructure } from '../../../src/inspect/structure.js';
import { WINDOW_BYTES } from '../../../src/inspect/structure/source.js';
import { checkStructure } from '../../../src/inspect/rules.js';
import type { InputConfig } from '../../../src/policy/types.js';
import { MAGIC_OF, SERIALIZERS, type El, type FormatName, type SizeMode } from '../containers.js';
import { DICTIONARIES } from '../dictionaries.js';
import { havoc, mutateTree } from '../mutate.js';
import type { Rng } from '../rng.js';
import { SEEDS } from '../seeds.js';
import { crash, splitHeader, withHeader, type Target } from '../target.js';

export interface WalkerInput {
  readonly magic: string;
  readonly bytes: Buffer;
  /** An oracle: the walk must report a problem. */
  readonly expect?: 'refuse';
  readonly why?: string;
  /** For tree-built inputs with exact sizes: where a cut leaves a well-formed file. */
  readonly boundaries?: ReadonlySet<number>;
  /** A second variant of an oracle input (another junk tail, another cut) to confirm a bypass. */
  readonly confirm?: Buffer;
}

const JUNK = ['PK\x03\x04\x14\x00\x08\x00', '<html><script>', '#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n', '%PDF-1.4\n', 'MZ\x90\x00\x03', 'GIF89a\x01\x00'];

function junk(rng: Rng): Buffer {
  return Buffer.concat([Buffer.from(rng.pick(JUNK), 'latin1'), rng.bytes(rng.small(300))]);
}

const hasLie = (els: readonly El[]): boolean =>
  els.some((e) => (e.size !== undefined && e.size !== 'exact' && e.size !== 'unknown' && e.size !== 'wide') || (!Buffer.isBuffer(e.body) && hasLie(e.body as El[])));

interface Accepted {
  readonly bytes: Buffer;
  readonly boundaries: ReadonlySet<number> | undefined;
  readonly selfAppendable: boolean;
  /**
   * Cuts at or past this offset are no oracle: from there the walk accepted a tolerated tail
   * (zero or 0xFF padding after a JPEG's end-of-image marker), and a cut inside the padding
   * leaves a complete image followed by less padding. (The 30-minute campaign of seed 442814324
   * flagged exactly that: a mutated tree whose elements after EOI were all padding bytes.)
   */
  readonly cutBefore: number;
}

/** Where a tolerated tail starts in an accepted file (the file's length when none). */
const tailFrom = (report: { readonly tolerated?: ReadonlyArray<{ readonly name: string; readonly offset: number }> }, length: number): number =>
  report.tolerated?.find((t) => t.name === 'jpeg-padding-after-eoi')?.offset ?? length;

const LENIENT = { requireMagicMatchesFormat: false } as InputConfig;
const STRICT = { requireMagicMatchesFormat: true } as InputConfig;

export function walkerTarget(format: FormatName): Target<WalkerInput> {
  const magic = MAGIC_OF[format];
  const dict = DICTIONARIES[format];
  const pool: Accepted[] = [];
  const selfAppendable = (b: Buffer): boolean => format !== 'mp3' || b.subarray(0, 3).toString('latin1') === 'ID3';

  const fromTree = (rng: Rng): WalkerInput => {
    let els: El[] = rng.pick(SEEDS[format])();
    for (let k = 1 + rng.small(4); k > 0; k--) els = mutateTree(rng, els, dict);
    const s = SERIALIZERS[format](els);
    if (rng.bool(0.25)) return { magic, bytes: havoc(rng, s.bytes) };
    return { magic, bytes: s.bytes, ...(hasLie(els) ? {} : { boundaries: s.boundaries }) };
  };

  const oracle = (rng: Rng): WalkerInput | undefined => {
    const base = pool.length > 0 && rng.bool(0.7) ? rng.pick(pool) : undefined;
    const seed = base ?? (() => {
      const s = SERIALIZERS[format](rng.pick(SEEDS[format])());
      return { bytes: s.bytes, boundaries: s.boundaries, selfAppendable: selfAppendable(s.bytes), cutBefore: s.bytes.length };
    })();
    switch (rng.int(3)) {
      case 0:
        return { magic, bytes: Buffer.concat([seed.bytes, junk(rng)]), confirm: Buffer.concat([seed.bytes, junk(rng)]), expect: 'refuse', why: 'junk appended after a file the walk accepted' };
      case 1: {
        if (!seed.boundaries || seed.bytes.length < 2) return undefined;
        const cuts: number[] = [];
        for (let t = 0; t < 8 && cuts.length < 2; t++) {
          const c = 1 + rng.int(Math.min(seed.bytes.length, seed.cutBefore) - 1);
          if (!seed.boundaries.has(c)) cuts.push(c);
        }
        const [c1, c2] = cuts;
        if (c1 === undefined) return undefined;
        return { magic, bytes: seed.bytes.subarray(0, c1), ...(c2 !== undefined ? { confirm: seed.bytes.subarray(0, c2) } : {}), expect: 'refuse', why: `a file the walk accepted, cut at byte ${c1} (inside an element)` };
      }
      default:
        if (!seed.selfAppendable) return undefined;
        return { magic, bytes: Buffer.concat([seed.bytes, seed.bytes]), expect: 'refuse', why: 'a file the walk accepted, followed by itself (a second container)' };
    }
  };

  async function walk(bytes: Buffer): Promise<{ report: Awaited<ReturnType<typeof walkStructure>>; maxRead: number; readBytes: number }> {
    let maxRead = 0;
    let readBytes = 0;
    const report = await walkStructure(async (into, position) => {
      maxRead = Math.max(maxRead, into.length);
      if (position >= bytes.length) return 0;
      const n = bytes.copy(into, 0, position, Math.min(bytes.length, position + into.length));
      readBytes += n;
      return n;
    }, bytes.length, magic);
    return { report, maxRead, readBytes };
  }

  return {
    name: `walker-${format}`,
    sources: format === 'isobmff' ? ['src/inspect/structure/isobmff.ts'] : format.startsWith('riff') ? ['src/inspect/structure/riff.ts'] : format === 'ebml' ? ['src/inspect/structure/ebml.ts'] : format === 'mp3' || format === 'flac' ? [`src/inspect/structure/${format}.ts`, 'src/inspect/structure/tags.ts'] : [`src/inspect/structure/${format}.ts`],
    ext: magic,
    generate(rng) {
      return (rng.bool(0.1) ? oracle(rng) : undefined) ?? fromTree(rng);
    },
    async check(input) {
      let r;
      try {
        r = await walk(input.bytes);
      } catch (e) {
        return crash(`the ${format} walk`, e);
      }
      const { report, maxRead, readBytes } = r;
      if (maxRead > WINDOW_BYTES) return { kind: 'bound', message: `a read of ${maxRead} bytes, more than the ${WINDOW_BYTES}-byte window` };
      if (readBytes > 2 * input.bytes.length + 16 * WINDOW_BYTES) return { kind: 'bound', message: `read ${readBytes} bytes of a ${input.bytes.length}-byte file` };
      if (report.walker === undefined || !report.complete) return { kind: 'shape', message: 'the walk did not reach a verdict on every byte' };
      if (report.problems.length > 1 || report.problems.some((p) => p.offset < 0 || p.offset > input.bytes.length || p.message === '')) return { kind: 'shape', message: `odd problems: ${JSON.stringify(report.problems).slice(0, 300)}` };
      try {
        checkStructure(report, STRICT);
        checkStructure(report, LENIENT);
      } catch (e) {
        return crash('checkStructure', e);
      }
      if (input.expect === 'refuse' && report.problems.length === 0) {
        // Confirm with the second variant: a chance CRC match (FLAC) is not a bypass.
        if (input.confirm && (await walk(input.confirm)).report.problems.length > 0) return undefined;
        return { kind: 'bypass', message: `${input.why ?? 'an oracle input'}, but the walk accepted it` };
      }
      if (report.problems.length === 0 && input.boundaries && input.expect === undefined) {
        const entry = { bytes: input.bytes, boundaries: input.boundaries, selfAppendable: selfAppendable(input.bytes), cutBefore: tailFrom(report, input.bytes.length) };
        if (pool.length < 200) pool.push(entry);
        else pool[Math.floor(Math.random() * pool.length)] = entry;
      }
      return undefined;
    },
    budgetMs: (input) => 200 + input.bytes.length / 10_000,
    encode: (input) => withHeader({ magic: input.magic, ...(input.expect ? { expect: input.expect, why: input.why } : {}) }, input.bytes),
    decode(bytes) {
      const { header, body } = splitHeader(bytes);
      return { magic: String(header['magic'] ?? magic), bytes: body, ...(header['expect'] === 'refuse' ? { expect: 'refuse' as const, why: String(header['why'] ?? '') } : {}) };
    },
  };
}

export type { SizeMode };
