/**
 * The policy loader, on the bundled policies and small `extends` policies mutated as text:
 * hostile keys at any level, anchors and aliases, deep nesting, long scalars, duplicates.
 * Invariants: loadPolicy succeeds or fails with a ZtError of exit 9. Oracle (keys never change
 * behaviour): renaming every `__proto__`, `constructor`, `prototype`, ... to a neutral key of
 * the same length gives the same outcome and the same number of problems.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ZtError } from '../../../src/errors.js';
import { BUNDLED_DIR, loadPolicy } from '../../../src/policy/load.js';
import { HOSTILE_KEYS, textHavoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, type Finding, type Target } from '../target.js';

const SMALL = (stage: string): string => `apiVersion: zt-ffmpeg/v1\nextends: ${stage}\nstage: ${stage}\nmode: enforce\ninput:\n  maxWidth: 1280\n  deepCheck: true\n`;

const TOKENS = [
  '__proto__:', '  __proto__:\n    allowLoosening: true', '__proto__: {allowLoosening: true}', 'constructor: 1', '  prototype: {}', 'toString: x',
  'allowLoosening: true', 'extends: initial', 'input:\n  maxBytes: 99999999999999', 'a: &a [x, x, x, x, x, x, x, x]', 'b: [*a, *a, *a, *a, *a, *a, *a, *a]', '<<: *a',
  '- ', ': ', '{', '[', '"\\u0000"', "'", '!!binary AAAA', '!!js/function x', 'a: &x {b: *x}', '? [a, b]\n: c', `x: ${'['.repeat(40)}${']'.repeat(40)}`,
  `long: ${'y'.repeat(5000)}`, 'stage: stage', 'mode: warn', '\t', '%YAML 1.2\n---', '---\n...', '#', 'stage: advanced\nstage: advanced',
];

const RENAME: ReadonlyArray<readonly [RegExp, string]> = HOSTILE_KEYS.map((k) => [new RegExp(k.replace(/_/g, '_'), 'g'), `Z${k.slice(1, -1).replace(/[_]/g, 'z')}Z`] as const);

function outcomeOf(e: unknown): { ok: boolean; problems: number } | Finding {
  if (e === undefined) return { ok: true, problems: 0 };
  if (e instanceof ZtError && e.exitCode === 9) return { ok: false, problems: Array.isArray(e.details['diagnostics']) ? (e.details['diagnostics'] as unknown[]).length : 1 };
  if (e instanceof ZtError) return { kind: 'crash', message: `loadPolicy failed with exit ${e.exitCode} (${e.reason}), not 9: ${e.message.slice(0, 200)}` };
  return crash('loadPolicy', e);
}

export function policyTarget(): Target<string> {
  let dir: string;
  const bases: string[] = [];
  async function load(text: string): Promise<{ ok: boolean; problems: number } | Finding> {
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, text);
    try {
      await loadPolicy(file);
      return outcomeOf(undefined);
    } catch (e) {
      return outcomeOf(e);
    }
  }
  return {
    name: 'policy-loader',
    sources: ['src/policy/load.ts', 'src/policy/yaml-source.ts', 'src/policy/diagnostics.ts'],
    ext: 'yaml',
    async setup() {
      dir = await mkdtemp(path.join(os.tmpdir(), 'zt-fuzz-policy-'));
      for (const s of ['initial', 'advanced', 'optimal']) bases.push(await readFile(path.join(BUNDLED_DIR, `${s}.yaml`), 'utf8'), SMALL(s));
    },
    async teardown() {
      await rm(dir, { recursive: true, force: true });
    },
    generate(rng: Rng) {
      let text = rng.pick(bases);
      if (rng.bool(0.1)) text += rng.pick(['x: ', 'x:\n  ']) + rng.pick(['[', '{', '- ']).repeat(rng.int(5000));
      return textHavoc(rng, text, TOKENS, 1 + rng.small(8));
    },
    async check(text) {
      const got = await load(text);
      if ('kind' in got) return got;
      let renamed = text;
      for (const [re, to] of RENAME) renamed = renamed.replace(re, to);
      if (renamed === text) return undefined;
      const neutral = await load(renamed);
      if ('kind' in neutral) return neutral;
      if (got.ok !== neutral.ok || got.problems !== neutral.problems) {
        return { kind: 'bypass', message: `a key named like an Object.prototype member changed the outcome: ${got.ok ? 'accepted' : `${got.problems} problems`} vs ${neutral.ok ? 'accepted' : `${neutral.problems} problems`} with neutral names` };
      }
      return undefined;
    },
    budgetMs: (text) => 1500 + text.length / 500,
    encode: (text) => Buffer.from(text),
    decode: (b) => b.toString('utf8'),
  };
}
