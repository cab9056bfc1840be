/**
 * The policy schema and loader: valid samples load; invalid ones fail with every problem, each
 * at file:line:column with what was expected; stages demand what they promise.
 */
import { describe, it, expect } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { validatePolicyData, loadPolicy, mergePolicy, BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import { unmetStageRules, STAGE_RULES } from '../../src/policy/stage-rules.js';
import { isZtError, type ZtError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';

async function bundled(stage: string): Promise<string> {
  return readFile(path.join(BUNDLED_DIR, `${stage}.yaml`), 'utf8');
}

function validate(text: string, reference: unknown = undefined): Policy {
  const parsed = parsePolicyText('/p/policy.yaml', Buffer.from(text));
  return validatePolicyData(parsed, parsed.data, reference ?? parsed.data);
}

function failure(f: () => unknown): ZtError {
  try {
    f();
  } catch (e) {
    if (isZtError(e)) return e;
    throw e;
  }
  throw new Error('expected a policy error');
}

describe('bundled policies', () => {
  it.each(['initial', 'advanced', 'optimal'])('%s.yaml is valid for its stage and declares the schema for editors', async (stage) => {
    const text = await bundled(stage);
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/policy.schema.json');
    const p = validate(text);
    expect(p.stage).toBe(stage);
    expect(unmetStageRules(p)).toEqual([]);
  });

  it('ships only the three stages', async () => {
    expect((await readdir(BUNDLED_DIR)).filter((f) => f.endsWith('.yaml')).sort()).toEqual(['advanced.yaml', 'initial.yaml', 'optimal.yaml']);
  });

  it('the initial policy would not pass as advanced, and advanced not as optimal (stages are promises)', async () => {
    const initial = validate(await bundled('initial'));
    const advanced = validate(await bundled('advanced'));
    expect(unmetStageRules(initial, 'advanced').map((r) => r.id)).toEqual(expect.arrayContaining(['stage.default-deny', 'stage.magic-extension', 'stage.root-owned-binaries']));
    expect(unmetStageRules(advanced, 'optimal').map((r) => r.id)).toEqual(expect.arrayContaining(['stage.seccomp-strict', 'stage.token', 'stage.signed-policy', 'stage.deep-check', 'stage.operations-only']));
    expect(STAGE_RULES.length).toBeGreaterThan(10);
  });
});

describe('invalid policies', () => {
  it('names file, line and column of an unknown field, with a suggestion', async () => {
    const text = (await bundled('advanced')).replace('  maxHeight: 4320', '  maxHieght: 4320');
    const line = text.split('\n').findIndex((l) => l.includes('maxHieght')) + 1;
    const reference = parsePolicyText('/ref.yaml', Buffer.from(await bundled('optimal'))).data;
    const e = failure(() => validate(text, reference));
    expect(e.exitCode).toBe(9);
    expect(e.message).toContain('missing required field "maxHeight" in input');
    expect(e.message).toContain(`/p/policy.yaml:${line}:3: input.maxHieght: unknown field "maxHieght" in input (did you mean "maxHeight"?)`);
  });

  it('reports every problem, not just the first', async () => {
    const text = (await bundled('advanced'))
      .replace('mode: enforce', 'mode: maybe')
      .replace('  maxStreams: 16', '  maxStreams: -1')
      .replace('  wallSeconds: 1800', '  wallSeconds: "long"');
    const e = failure(() => validate(text));
    expect(e.message).toContain('3 problems');
    expect(e.message).toMatch(/mode: expected one of \["enforce","warn","audit"\]/);
    expect(e.message).toMatch(/input\.maxStreams: must be >= 1/);
    expect(e.message).toMatch(/limits\.wallSeconds: must be integer/);
  });

  it('a missing required field names the section', async () => {
    const text = (await bundled('advanced')).replace(/^ {2}openFiles: 256\n/m, '');
    expect(failure(() => validate(text)).message).toContain('missing required field "openFiles" in limits');
  });

  it('YAML syntax errors point at the line', () => {
    const e = failure(() => parsePolicyText('/p/bad.yaml', Buffer.from('stage: advanced\nmode: [enforce\n')));
    expect(e.message).toMatch(/\/p\/bad\.yaml:\d+:\d+:/);
  });

  it('duplicate keys are refused (a second "mode:" cannot silently win)', () => {
    const e = failure(() => parsePolicyText('/p/dup.yaml', Buffer.from('mode: enforce\nmode: audit\n')));
    expect(e.message).toMatch(/dup\.yaml:2:1/);
  });

  it('a policy claiming a stage it does not meet is invalid', async () => {
    const text = (await bundled('advanced')).replace('  default: deny', '  default: allow');
    const e = failure(() => validate(text));
    expect(e.message).toContain('stage "advanced" demands that authorization.default must be "deny" (stage.default-deny)');
  });

  it('HMAC and none are not even expressible as token algorithms', async () => {
    const text = (await bundled('optimal')).replace('algorithms: [EdDSA]', 'algorithms: [HS256]');
    expect(failure(() => validate(text)).message).toContain('identity.issuers.0.algorithms.0');
  });
});

describe('extends', () => {
  it('merges mappings key by key and replaces lists', () => {
    expect(mergePolicy({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });

  it('a small file extending a bundled stage loads, and may only tighten it', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-extends-'));
    try {
      const f = path.join(dir, 'team.yaml');
      await writeFile(f, 'extends: advanced\ninput:\n  maxDurationSeconds: 600\n');
      const l = await loadPolicy(f);
      expect(l.policy.stage).toBe('advanced');
      expect(l.policy.input.maxDurationSeconds).toBe(600);
      expect(l.policy.input.maxWidth).toBe(7680);
      // Loosening the stage it extends is refused, naming the rule, unless said explicitly.
      await writeFile(f, 'extends: advanced\ninput:\n  maxDurationSeconds: 99999\n');
      const e = await loadPolicy(f).then(() => undefined, (x: unknown) => x as ZtError);
      expect(e?.exitCode).toBe(9);
      expect(e?.message).toContain('input.maxDurationSeconds');
      expect(e?.message).toContain('allowLoosening');
      await writeFile(f, 'extends: advanced\nallowLoosening: true\ninput:\n  maxDurationSeconds: 99999\n');
      expect((await loadPolicy(f)).policy.input.maxDurationSeconds).toBe(99999);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
