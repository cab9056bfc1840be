/**
 * `policy diff` covers the whole policy: every field the schema defines is either compared by
 * src/policy/diff.ts (listed here with the diff rule that compares it, and seen in a real diff)
 * or exempt for a stated reason. A new schema field fails this test until the diff handles it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diffPolicies } from '../../src/policy/diff.js';
import type { Policy } from '../../src/policy/types.js';
import { ROOT } from '../helpers/cli.js';
import { bundledPolicy } from '../helpers/plan-fixtures.js';

type SchemaNode = { properties?: Record<string, SchemaNode>; additionalProperties?: unknown; items?: SchemaNode; type?: unknown };

/** Leaf field paths of the schema: `a.b`, `list[].x` for arrays of objects, `map.*.x` for maps. */
function leafPaths(node: SchemaNode, prefix: string, out: string[]): string[] {
  const child = (p: string): string => (prefix ? `${prefix}.${p}` : p);
  if (node.properties) {
    for (const [k, v] of Object.entries(node.properties)) leafPaths(v, child(k), out);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') leafPaths(node.additionalProperties as SchemaNode, child('*'), out);
    return out;
  }
  if (node.type === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object') return leafPaths(node.additionalProperties as SchemaNode, child('*'), out);
  if (node.items?.properties) return leafPaths(node.items, `${prefix}[]`, out);
  out.push(prefix);
  return out;
}

const EXEMPT: Readonly<Record<string, string>> = {
  apiVersion: 'the file format version, not a rule',
  description: 'prose',
  extends: 'resolved when the policy is loaded; the diff compares resolved policies',
  allowLoosening: 'checked when the policy is loaded (extends may only tighten); not a rule of the job',
  'authorization.rules[].description': 'prose',
  'operations.list.*.description': 'prose',
};

/** Schema path → the diff rule (a regular expression over rule names) that compares it. */
const COVERED_BY: Readonly<Record<string, RegExp>> = {
  'identity.issuers[].id': /^identity\.issuers$/,
  'identity.issuers[].issuer': /^identity\.issuers$/,
  'identity.issuers[].jwksFile': /^identity\.issuers\[.+\]\.keys$/,
  'identity.issuers[].keys[].*': /^identity\.issuers\[.+\]\.keys$/,
  'identity.issuers[].*': /^identity\.issuers\[.+\]\.(audience|algorithms|maxTokenAgeSeconds|clockToleranceSeconds|requiredClaims)$/,
  'authorization.rules[].id': /^authorization\.rules\.principals$/,
  'authorization.rules[].match.*': /^authorization\.rules\.(principals|tokenRequired)$/,
  'authorization.rules[].match.claims.*': /^authorization\.rules\.(principals|tokenRequired)$/,
  'authorization.rules[].allow.operations': /^authorization\.rules\.operations$/,
  'authorization.rules[].allow.rawArgs': /^authorization\.rules\.rawArgs$/,
  // One action for every kind, or one per kind: compared kind by kind.
  'input.unusedStreams': /^input\.unusedStreams\.[a-z]+$/,
  'operations.list.*.targets.*.format': /^operations\.list\..+\.targets\..+\.args$/,
  'operations.list.*.targets.*.args': /^operations\.list\..+\.targets\..+\.args$/,
  'operations.list.*.targets.*.still': /^operations\.list\..+\.targets\..+\.args$/,
  'operations.list.*.targets.*.durationFactor': /^operations\.list\..+\.targets\..+\.args$/,
  'operations.list.*.targets.*.expect.*': /^operations\.list\..+\.targets\..+\.expect\.(formats|video|audio)$/,
};

function coverFor(p: string): RegExp | 'exempt' {
  if (EXEMPT[p]) return 'exempt';
  const exact = COVERED_BY[p];
  if (exact) return exact;
  // A specific pattern for a family of fields: `x[].*` covers `x[].y`, `a.*.b.*.c.*` covers `a.*.b.*.c.d`.
  for (const [k, re] of Object.entries(COVERED_BY)) {
    if (!k.endsWith('.*')) continue;
    const stem = k.slice(0, -2);
    if (p.startsWith(`${stem}.`) && !p.slice(stem.length + 1).includes('.')) return re;
  }
  // Otherwise the diff rule is the field's own path.
  return new RegExp(`^${p.replace(/[.[\]*]/g, (c) => `\\${c}`)}$`);
}

describe('policy diff covers every schema field', () => {
  const shipped = JSON.parse(readFileSync(path.join(ROOT, 'schema', 'policy.schema.json'), 'utf8')) as SchemaNode & { definitions?: { complete?: SchemaNode } };
  // The shipped schema chooses between a complete policy and a partial one (with extends); the fields are the complete one's.
  const schema = shipped.definitions?.complete ?? shipped;
  const fields = leafPaths(schema, '', []);
  // Real diffs that exercise every rule: each stage against itself and against the others.
  const stages = (['initial', 'advanced', 'optimal'] as const).map(bundledPolicy);
  const ruleNames = new Set<string>();
  for (const a of stages) for (const b of stages) for (const r of diffPolicies(a, b).rules) ruleNames.add(r.rule);

  it('finds the schema fields (sanity)', () => {
    expect(fields.length).toBeGreaterThan(80);
    expect(fields).toContain('limits.cpuSeconds');
  });

  it.each(fields)('%s', (field) => {
    const cover = coverFor(field);
    if (cover === 'exempt') return;
    const hit = [...ruleNames].some((r) => cover.test(r));
    expect(hit, `no policy diff rule compares ${field} (expected one matching ${cover}); add it to src/policy/diff.ts, or exempt it here with a reason`).toBe(true);
  });

  it('more requirements are stricter (required claims, required hardening)', () => {
    const a = bundledPolicy('advanced');
    const b: Policy = { ...a, input: { ...a.input, requiredHardening: ['hls.extension_picky'] } };
    const row = diffPolicies(a, b).rules.find((r) => r.rule === 'input.requiredHardening');
    expect(row?.b).toBe('stricter');
    expect(diffPolicies(b, a).rules.find((r) => r.rule === 'input.requiredHardening')?.b).toBe('looser');
  });
});
