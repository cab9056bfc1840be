/** Authorization: rule matching (exact, glob, list), missing claims, first match wins, default. */
import { describe, expect, it } from 'vitest';
import { ZtError } from '../../src/errors.js';
import { authorize, DEFAULT_RULE_ID, requireAuthorization } from '../../src/identity/authorize.js';
import { identityConfigProblems } from '../../src/identity/check.js';
import { globMatch } from '../../src/identity/glob.js';
import type { AuthorizationConfig, IdentityConfig, Principal, VerifiedToken } from '../../src/identity/types.js';

const os = { uid: 1001, gid: 1001, user: 'runner', groups: ['runner', 'video'], gids: [1001, 44] };

function token(claims: VerifiedToken['claims'], issuerId = 'github'): VerifiedToken {
  return { issuerId, iss: 'https://token.actions.githubusercontent.com', sub: 'repo:acme/app:ref:refs/heads/main', alg: 'RS256', exp: 2_000_000_000, claims };
}

const ghMain: Principal = {
  os,
  token: token({ repository: 'acme/app', ref: 'refs/heads/main', run_id: '42', groups: ['media', 'ops'], runner_attempt: 1 }),
};

const policy: AuthorizationConfig = {
  default: 'deny',
  rules: [
    {
      id: 'ci-main',
      match: { issuers: ['github'], claims: { repository: 'acme/*', ref: ['refs/heads/main', 'refs/tags/v*'] } },
      allow: { operations: ['transcode', 'thumbnail'] },
    },
    { id: 'video-group', match: { groups: ['video'] }, allow: { operations: ['thumbnail'] } },
    { id: 'admins', match: { users: ['admin-?'] }, allow: { operations: ['*'], rawArgs: true } },
  ],
};

const run = (operation: string, rawArgs = false) => ({ operation, rawArgs });

describe('glob matching', () => {
  it('is anchored, * spans any run (including /), ? one character, everything else literal', () => {
    expect(globMatch('acme/*', 'acme/app')).toBe(true);
    expect(globMatch('acme/*', 'acme/')).toBe(true);
    expect(globMatch('acme/*', 'xacme/app')).toBe(false);
    expect(globMatch('refs/tags/*', 'refs/tags/v1/rc')).toBe(true);
    expect(globMatch('v?.0', 'v1.0')).toBe(true);
    expect(globMatch('v?.0', 'v10.0')).toBe(false);
    expect(globMatch('main', 'main')).toBe(true);
    expect(globMatch('main', 'mainline')).toBe(false);
    expect(globMatch('a.c', 'abc')).toBe(false);
    expect(globMatch('[ab]', 'a')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('*a*b*c*', 'xxaxxbxxcxx')).toBe(true);
    expect(globMatch('*a*b*c', 'xxaxxbxxcxx')).toBe(false);
  });

  it('stays fast on adversarial patterns', () => {
    const value = 'a'.repeat(5000);
    expect(globMatch('*a*a*a*a*a*a*a*a*a*a*b', value)).toBe(false);
  });
});

describe('authorize', () => {
  it('allows by exact, glob and list matching, recording the rule id', () => {
    expect(authorize(ghMain, policy, run('transcode'))).toEqual({ allowed: true, ruleId: 'ci-main' });
    const tag: Principal = { os, token: token({ repository: 'acme/lib', ref: 'refs/tags/v2.1' }) };
    expect(authorize(tag, policy, run('thumbnail'))).toEqual({ allowed: true, ruleId: 'ci-main' });
  });

  it('a claim that does not match any list entry does not match the rule', () => {
    const dev: Principal = { os: { ...os, groups: ['runner'] }, token: token({ repository: 'acme/app', ref: 'refs/heads/dev' }) };
    const d = authorize(dev, policy, run('transcode'));
    expect(d.allowed).toBe(false);
    if (d.allowed) return;
    expect(d.ruleId).toBeUndefined();
    expect(d.violations[0]?.rule).toBe(DEFAULT_RULE_ID);
    const claimV = d.violations.find((v) => v.rule === 'authorization.rules[ci-main].match.claims.ref');
    expect(claimV?.actual).toBe('refs/heads/dev');
    expect(claimV?.message).toContain('refs/heads/dev');
  });

  it('a missing claim never matches, not even "*"', () => {
    const auth: AuthorizationConfig = { default: 'deny', rules: [{ id: 'any-env', match: { claims: { environment: '*' } }, allow: { operations: ['*'] } }] };
    const d = authorize(ghMain, auth, run('transcode'));
    expect(d.allowed).toBe(false);
    if (d.allowed) return;
    expect(d.violations.some((v) => v.message.includes('no claim "environment"'))).toBe(true);
    const withEnv: Principal = { os, token: token({ environment: 'prod' }) };
    expect(authorize(withEnv, auth, run('transcode')).allowed).toBe(true);
  });

  it('claims need a token; issuers need a token from that issuer', () => {
    const noToken: Principal = { os: { ...os, groups: [] } };
    const d = authorize(noToken, policy, run('transcode'));
    expect(d.allowed).toBe(false);
    if (d.allowed) return;
    expect(d.violations.find((v) => v.rule.endsWith('.issuers'))?.message).toContain('none was presented');
    const gitlab: Principal = { os: { ...os, groups: [] }, token: token({ repository: 'acme/app', ref: 'refs/heads/main' }, 'gitlab') };
    expect(authorize(gitlab, policy, run('transcode')).allowed).toBe(false);
  });

  it('array claims match when any element matches; numbers compare as text', () => {
    const auth: AuthorizationConfig = {
      default: 'deny',
      rules: [{ id: 'ops', match: { claims: { groups: 'ops', runner_attempt: '1' } }, allow: { operations: ['*'] } }],
    };
    expect(authorize(ghMain, auth, run('x'))).toEqual({ allowed: true, ruleId: 'ops' });
  });

  it('first match wins: a matching rule that does not allow the operation refuses, naming the rule', () => {
    // runner is in group video: rule "video-group" matches first for a non-CI caller and allows only thumbnails,
    // even though a later rule could have allowed more.
    const auth: AuthorizationConfig = {
      default: 'deny',
      rules: [
        { id: 'video-group', match: { groups: ['video'] }, allow: { operations: ['thumbnail'] } },
        { id: 'runner-all', match: { users: ['runner'] }, allow: { operations: ['*'] } },
      ],
    };
    const d = authorize({ os }, auth, run('transcode'));
    expect(d).toMatchObject({ allowed: false, ruleId: 'video-group' });
    if (d.allowed) return;
    expect(d.reason).toContain('video-group');
    expect(d.reason).toContain('transcode');
    expect(d.violations[0]?.rule).toBe('authorization.rules[video-group].allow.operations');
    expect(authorize({ os }, auth, run('thumbnail'))).toEqual({ allowed: true, ruleId: 'video-group' });
    // Reordered, the broader rule decides.
    const reordered = { ...auth, rules: [auth.rules[1]!, auth.rules[0]!] };
    expect(authorize({ os }, reordered, run('transcode'))).toEqual({ allowed: true, ruleId: 'runner-all' });
  });

  it('raw arguments need rawArgs: true on the deciding rule', () => {
    const d = authorize(ghMain, policy, run('transcode', true));
    expect(d).toMatchObject({ allowed: false, ruleId: 'ci-main' });
    if (d.allowed) return;
    expect(d.violations[0]?.rule).toBe('authorization.rules[ci-main].allow.rawArgs');
    const admin: Principal = { os: { ...os, user: 'admin-1', groups: [] } };
    expect(authorize(admin, policy, run('anything', true))).toEqual({ allowed: true, ruleId: 'admins' });
    expect(authorize({ os: { ...os, user: 'admin-12', groups: [] } }, policy, run('x')).allowed).toBe(false);
  });

  it('default deny names authorization.default; default allow records it', () => {
    const nobody: Principal = { os: { ...os, user: 'mallory', groups: ['users'] } };
    const d = authorize(nobody, policy, run('transcode'));
    expect(d.allowed).toBe(false);
    if (d.allowed) return;
    expect(d.reason).toContain('authorization.default');
    expect(d.violations.map((v) => v.rule)).toEqual([
      'authorization.default',
      'authorization.rules[ci-main].match.issuers',
      'authorization.rules[video-group].match.groups',
      'authorization.rules[admins].match.users',
    ]);
    expect(authorize(nobody, { ...policy, default: 'allow' }, run('transcode'))).toEqual({ allowed: true, ruleId: DEFAULT_RULE_ID });
    expect(authorize(nobody, { default: 'deny', rules: [] }, run('transcode')).allowed).toBe(false);
  });

  it('the CI context from the environment is never consulted', () => {
    const forged: Principal = { os: { ...os, groups: [] }, ci: { provider: 'github-actions', trusted: false, repository: 'acme/app', ref: 'refs/heads/main' } };
    expect(authorize(forged, policy, run('transcode')).allowed).toBe(false);
  });

  it('requireAuthorization throws exit 4 with the rule and violations', () => {
    expect(requireAuthorization(ghMain, policy, run('transcode'))).toBe('ci-main');
    let err: unknown;
    try {
      requireAuthorization(ghMain, policy, run('concat'));
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(ZtError);
    const z = err as ZtError;
    expect(z.reason).toBe('unauthorized');
    expect(z.exitCode).toBe(4);
    expect(z.details['ruleId']).toBe('ci-main');
    expect(z.violations).toHaveLength(1);
    expect(z.hint).toBeTruthy();
  });
});

describe('identityConfigProblems', () => {
  const identity: IdentityConfig = {
    token: 'required',
    bindToInput: false,
    singleUseJti: false,
    issuers: [
      { id: 'github', issuer: 'https://token.actions.githubusercontent.com', audience: ['zt-ffmpeg'], jwksFile: 'gh.json', algorithms: ['RS256'] },
    ],
  };

  it('a consistent configuration has no problems', () => {
    expect(identityConfigProblems(identity, policy)).toEqual([]);
  });

  it('reports duplicates, dangling issuer ids and combinations that can never work', () => {
    const bad: IdentityConfig = {
      ...identity,
      token: 'off',
      bindToInput: 'audience',
      singleUseJti: true,
      issuers: [identity.issuers[0]!, { ...identity.issuers[0]!, keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA' }] }],
    };
    const auth: AuthorizationConfig = {
      default: 'deny',
      rules: [
        { id: 'r', match: { issuers: ['gitlab'] }, allow: { operations: ['*'] } },
        { id: 'r', match: { users: ['x'] }, allow: { operations: ['*'] } },
      ],
    };
    const rules = identityConfigProblems(bad, auth).map((v) => v.rule);
    expect(rules).toEqual(
      expect.arrayContaining([
        'identity.issuers.id',
        'identity.issuers.issuer',
        'identity.issuers[github]',
        'identity.bindToInput',
        'identity.singleUseJti',
        'authorization.rules.id',
        'authorization.rules[r].match.issuers',
        'authorization.rules[r].match',
      ]),
    );
  });
});
