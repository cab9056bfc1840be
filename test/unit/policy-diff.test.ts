import { describe, it, expect, beforeAll } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { diffPolicies, compareAllowList, compareEnum, compareNumber, compareMinVersion, comparePin, effectiveGrant, principalsCovered, type Strictness } from '../../src/policy/diff.js';
import type { Policy, Stage } from '../../src/policy/types.js';

const policies: Partial<Record<Stage, Policy>> = {};
const P = (s: Stage): Policy => policies[s]!;

beforeAll(async () => {
  for (const s of ['initial', 'advanced', 'optimal'] as const) policies[s] = (await loadPolicy(s)).policy;
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
const clone = (p: Policy): Mutable<Policy> => structuredClone(p) as Mutable<Policy>;
const ruleOf = (p: Policy, q: Policy, rule: string): Strictness | undefined => diffPolicies(p, q).rules.find((r) => r.rule === rule)?.b;

describe('primitive comparisons (B relative to A)', () => {
  it('numbers: lower is stricter, an absent limit is the loosest', () => {
    expect(compareNumber(10, 5)).toBe('stricter');
    expect(compareNumber(5, 10)).toBe('looser');
    expect(compareNumber(5, 5)).toBe('same');
    expect(compareNumber(undefined, 5)).toBe('stricter');
    expect(compareNumber(5, undefined)).toBe('looser');
    expect(compareNumber(5, 10, false)).toBe('stricter');
  });
  it('allow-lists: a subset is stricter, "*" allows everything, add+remove cannot be ordered', () => {
    expect(compareAllowList(['a', 'b'], ['a']).s).toBe('stricter');
    expect(compareAllowList(['a'], ['a', 'b']).s).toBe('looser');
    expect(compareAllowList(['a', 'b'], ['b', 'a']).s).toBe('same');
    expect(compareAllowList(['a'], ['b'])).toEqual({ s: 'incomparable', added: ['b'], removed: ['a'] });
    expect(compareAllowList(['*'], ['a', 'b']).s).toBe('stricter');
    expect(compareAllowList(['a'], ['*']).s).toBe('looser');
  });
  it('enums by order, with equal ranks', () => {
    const mode = ['audit', 'warn', 'enforce'] as const;
    expect(compareEnum('warn', 'enforce', mode)).toBe('stricter');
    expect(compareEnum('enforce', 'audit', mode)).toBe('looser');
    const seccomp = ['none', 'default', 'strict'] as const;
    expect(compareEnum('default', 'strict', seccomp)).toBe('stricter');
    expect(compareEnum('strict', 'none', seccomp)).toBe('looser');
    const bind: ReadonlyArray<false | 'audience' | 'claim' | ReadonlyArray<'audience' | 'claim'>> = [false, ['audience', 'claim']];
    expect(compareEnum<false | 'audience' | 'claim'>(false, 'claim', bind)).toBe('stricter');
    expect(compareEnum<false | 'audience' | 'claim'>('audience', 'claim', bind)).toBe('incomparable');
  });
  it('versions and pins', () => {
    expect(compareMinVersion('5.1', '6.0')).toBe('stricter');
    expect(compareMinVersion('0.8', '0.6')).toBe('looser');
    expect(compareMinVersion('5.1', '5.1.0')).toBe('same');
    expect(compareMinVersion(undefined, '4.4')).toBe('stricter');
    expect(comparePin(undefined, 'abc')).toBe('stricter');
    expect(comparePin('abc', 'def')).toBe('incomparable');
  });
});

describe('the bundled stages', () => {
  it('each stage is strictly stronger than the one before it, rule by rule', () => {
    for (const [a, b] of [['initial', 'advanced'], ['advanced', 'optimal'], ['initial', 'optimal']] as const) {
      const d = diffPolicies(P(a), P(b));
      const bad = d.rules.filter((r) => r.b === 'looser' || r.b === 'incomparable');
      expect(bad, `${b} vs ${a}: ${JSON.stringify(bad, null, 2)}`).toEqual([]);
      expect(d.bStrictlyStronger).toBe(true);
      expect(d.overall).toBe('stricter');
      expect(d.counts.stricter).toBeGreaterThan(5);
    }
  });
  it('and strictly weaker read the other way round', () => {
    for (const [a, b] of [['advanced', 'initial'], ['optimal', 'advanced'], ['optimal', 'initial']] as const) {
      const d = diffPolicies(P(a), P(b));
      expect(d.bStrictlyWeaker).toBe(true);
      expect(d.overall).toBe('looser');
    }
  });
  it('a policy compared with itself is the same on every rule', () => {
    const d = diffPolicies(P('advanced'), P('advanced'));
    expect(d.overall).toBe('same');
    expect(d.counts.stricter + d.counts.looser + d.counts.incomparable).toBe(0);
  });
  it('names the rules that make optimal stricter than advanced', () => {
    const d = diffPolicies(P('advanced'), P('optimal'));
    const stricter = new Set(d.rules.filter((r) => r.b === 'stricter').map((r) => r.rule));
    for (const r of ['identity.token', 'sandbox.seccomp', 'operations.allowRawArgs', 'input.deepCheck', 'signature.required', 'audit.requireProvisionedKey', 'limits.wallSeconds', 'input.codecs.video', 'operations.list', 'authorization.rules.principals', 'authorization.rules.rawArgs']) {
      expect(stricter, r).toContain(r);
    }
    const ops = d.rules.find((r) => r.rule === 'operations.list');
    expect(ops?.removed).toContain('remux');
  });
});

describe('single-rule changes', () => {
  it('sees each kind of change in the right direction', () => {
    const a = P('advanced');
    const b = clone(a);
    b.limits.wallSeconds = a.limits.wallSeconds * 2;
    b.input.allowAttachments = true;
    b.mode = 'warn';
    b.sandbox.seccomp = 'strict';
    b.input.codecs.audio = [...a.input.codecs.audio, 'wmav2'];
    b.firewall.filters = a.firewall.filters.filter((f) => f !== 'overlay');
    b.monitor.onMemorySpike = 'kill';
    const d = diffPolicies(a, b as Policy);
    const at = (r: string): Strictness | undefined => d.rules.find((x) => x.rule === r)?.b;
    expect(at('limits.wallSeconds')).toBe('looser');
    expect(at('input.allowAttachments')).toBe('looser');
    expect(at('mode')).toBe('looser');
    expect(at('sandbox.seccomp')).toBe('stricter');
    expect(at('input.codecs.audio')).toBe('looser');
    expect(d.rules.find((x) => x.rule === 'input.codecs.audio')?.added).toEqual(['wmav2']);
    expect(at('firewall.filters')).toBe('stricter');
    expect(at('monitor.onMemorySpike')).toBe('stricter');
    expect(d.overall).toBe('mixed');
  });
  it('a changed operation template cannot be ordered', () => {
    const a = P('advanced');
    const b = clone(a);
    const t = b.operations.list['transcode']!.targets['mp4']!;
    t.args = [...t.args.slice(0, -2)];
    expect(ruleOf(a, b as Policy, 'operations.list.transcode.targets.mp4.args')).toBe('incomparable');
  });
  it('trusting an extra issuer is looser; demanding a token from it where none was demanded is stricter', () => {
    const a = P('optimal');
    const b = clone(a);
    b.identity.issuers = [...a.identity.issuers, { id: 'gh', issuer: 'https://token.actions.githubusercontent.com', audience: ['zt-ffmpeg'], algorithms: ['RS256'], jwksFile: 'gh.json' }];
    expect(ruleOf(a, b as Policy, 'identity.issuers')).toBe('looser');
    expect(ruleOf(P('advanced'), a, 'identity.issuers')).toBe('stricter');
  });
  it('authorization: effective grants and who is admitted', () => {
    expect(effectiveGrant(P('initial').authorization)).toEqual({ operations: ['*'], rawArgs: true, tokenRequired: false });
    expect(effectiveGrant(P('optimal').authorization).rawArgs).toBe(false);
    expect(effectiveGrant(P('optimal').authorization).tokenRequired).toBe(true);
    expect(principalsCovered(P('advanced').authorization)).toBe('anyone');
    expect(principalsCovered(P('optimal').authorization)).toBe('listed');
    const a = P('optimal');
    const b = clone(a);
    b.authorization.rules = [{ ...a.authorization.rules[0]!, match: { issuers: ['other'] } }];
    expect(ruleOf(a, b as Policy, 'authorization.rules.principals')).toBe('incomparable');
  });
});
