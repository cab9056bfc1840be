/** The identity and authorization schema fragments: closed, described, and strict-mode clean. */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { authorizationSchema, identitySchema } from '../../src/identity/schema.js';

const ajv = new Ajv({ strict: true, allErrors: true });
const validIdentity = ajv.compile(identitySchema);
const validAuthz = ajv.compile(authorizationSchema);

const identity = {
  token: 'required',
  issuers: [
    {
      id: 'github',
      issuer: 'https://token.actions.githubusercontent.com',
      audience: ['zt-ffmpeg'],
      jwksFile: './keys/github-jwks.json',
      algorithms: ['RS256'],
      maxTokenAgeSeconds: 600,
      clockToleranceSeconds: 30,
      requiredClaims: ['sub', 'repository'],
    },
    {
      id: 'local',
      issuer: 'https://zt-ffmpeg.local',
      audience: ['zt-ffmpeg'],
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'l8AEH4Ms2b7Gc3Ff0bz8oJq4k8k6v0yq7M1w2d3e4f0', kid: 'ed25519:0123', alg: 'EdDSA', use: 'sig' }],
      algorithms: ['EdDSA'],
    },
  ],
  bindToInput: 'audience',
  singleUseJti: true,
};

const authorization = {
  default: 'deny',
  rules: [
    {
      id: 'ci-main',
      match: { users: ['runner'], groups: ['video'], issuers: ['github'], claims: { repository: 'acme/*', ref: ['refs/heads/main', 'refs/tags/*'] } },
      allow: { operations: ['transcode', 'thumbnail'], rawArgs: false },
    },
  ],
};

function errorsOf(validate: typeof validIdentity, data: unknown): string[] {
  validate(data);
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

function walk(schema: unknown, at: string, visit: (node: Record<string, unknown>, at: string) => void): void {
  if (typeof schema !== 'object' || schema === null) return;
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => walk(s, `${at}[${i}]`, visit));
    return;
  }
  const node = schema as Record<string, unknown>;
  visit(node, at);
  for (const [k, v] of Object.entries(node)) walk(v, `${at}.${k}`, visit);
}

describe('identity schema', () => {
  it('accepts the documented shape', () => {
    expect(errorsOf(validIdentity, identity)).toEqual([]);
    expect(errorsOf(validIdentity, { token: 'off', issuers: [], bindToInput: false, singleUseJti: false })).toEqual([]);
  });

  it('every object is closed and every property described', () => {
    for (const s of [identitySchema, authorizationSchema]) {
      walk(s, '$', (node, at) => {
        if (node['type'] === 'object' && node['properties'] !== undefined) {
          expect(node['additionalProperties'], at).toBe(false);
          for (const [name, prop] of Object.entries(node['properties'] as Record<string, Record<string, unknown>>)) {
            expect(typeof prop['description'], `${at}.${name}`).toBe('string');
          }
        }
      });
    }
  });

  it('refuses unknown fields, HS*/none algorithms, private keys, both or neither key source', () => {
    const issuer = identity.issuers[0]!;
    expect(errorsOf(validIdentity, { ...identity, tokn: 'x' }).join()).toContain('must NOT have additional properties');
    expect(errorsOf(validIdentity, { ...identity, issuers: [{ ...issuer, algorithms: ['HS256'] }] }).join()).toContain('/issuers/0/algorithms/0');
    expect(errorsOf(validIdentity, { ...identity, issuers: [{ ...issuer, algorithms: ['none'] }] }).length).toBeGreaterThan(0);
    const priv = { ...identity.issuers[1]!, keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'BB' }] };
    expect(errorsOf(validIdentity, { ...identity, issuers: [priv] }).join()).toContain('/issuers/0/keys/0');
    const oct = { ...identity.issuers[1]!, keys: [{ kty: 'oct', k: 'AA' }] };
    expect(errorsOf(validIdentity, { ...identity, issuers: [oct] }).length).toBeGreaterThan(0);
    expect(errorsOf(validIdentity, { ...identity, issuers: [{ ...issuer, keys: identity.issuers[1]!.keys }] }).join()).toContain('oneOf');
    const { jwksFile: _drop, ...neither } = issuer;
    void _drop;
    expect(errorsOf(validIdentity, { ...identity, issuers: [neither] }).join()).toContain('oneOf');
    expect(errorsOf(validIdentity, { ...identity, bindToInput: true }).length).toBeGreaterThan(0);
    expect(errorsOf(validIdentity, { ...identity, issuers: [{ ...issuer, audience: [] }] }).join()).toContain('/issuers/0/audience');
    expect(errorsOf(validIdentity, { ...identity, issuers: [{ ...issuer, clockToleranceSeconds: 3600 }] }).join()).toContain('<= 300');
  });
});

describe('authorization schema', () => {
  it('accepts the documented shape', () => {
    expect(errorsOf(validAuthz, authorization)).toEqual([]);
  });

  it('refuses empty matches, bad ids, non-string claim patterns and unknown fields', () => {
    const rule = authorization.rules[0]!;
    expect(errorsOf(validAuthz, { ...authorization, rules: [{ ...rule, match: {} }] }).join()).toContain('must NOT have fewer than 1 properties');
    expect(errorsOf(validAuthz, { ...authorization, rules: [{ ...rule, id: 'has space' }] }).join()).toContain('/rules/0/id');
    expect(errorsOf(validAuthz, { ...authorization, rules: [{ ...rule, match: { claims: { ref: 5 } } }] }).length).toBeGreaterThan(0);
    expect(errorsOf(validAuthz, { ...authorization, rules: [{ ...rule, match: { ci: { repository: 'x' } } }] }).join()).toContain('additional properties');
    expect(errorsOf(validAuthz, { ...authorization, default: 'maybe' }).join()).toContain('/default');
    expect(errorsOf(validAuthz, { ...authorization, rules: [{ ...rule, allow: { rawArgs: true } }] }).join()).toContain('operations');
  });
});
