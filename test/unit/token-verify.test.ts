/**
 * Token verification with real tokens minted at test time: an RS256 issuer shaped like GitHub's
 * OIDC provider (JWKS file with several keys), one shaped like GitLab's (inline keys), and a
 * local Ed25519 issuer (zt-ffmpeg token mint). Every refusal must be a ZtError with exit 4 and
 * the reason that names the failed check.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZtError } from '../../src/errors.js';
import { exec } from '../../src/util/exec.js';
import { establishPrincipal } from '../../src/identity/establish.js';
import { mintToken } from '../../src/identity/mint.js';
import { publicJwkFromPem } from '../../src/keys/index.js';
import { pruneReplayStore, useJti } from '../../src/identity/replay.js';
import { readTokenInput } from '../../src/identity/token-input.js';
import { verifyToken, type VerifyContext } from '../../src/identity/token.js';
import type { IdentityConfig, IssuerConfig, OsPrincipal } from '../../src/identity/types.js';

const NOW = new Date('2030-06-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const GH_ISS = 'https://token.actions.githubusercontent.com';
const GL_ISS = 'https://gitlab.com';
const LOCAL_ISS = 'https://zt-ffmpeg.local/issuer';
const INPUT_SHA = createHash('sha256').update('the input bytes').digest('hex');
const OTHER_SHA = createHash('sha256').update('another file').digest('hex');

let dir: string;
let policyDir: string;
let stateDir: string;
let ghKey: KeyObject;
let ghKey2: KeyObject;
let glKey: KeyObject;
let localKey: KeyObject;
let localPub: KeyObject;
let localPem: string;
let strangerKey: KeyObject;

const os: OsPrincipal = { uid: 1001, gid: 1001, user: 'runner', groups: ['runner', 'video'], gids: [1001, 44] };

function issuers(): IssuerConfig[] {
  return [
    {
      id: 'github',
      issuer: GH_ISS,
      audience: ['zt-ffmpeg'],
      jwksFile: './keys/github-jwks.json',
      algorithms: ['RS256'],
      maxTokenAgeSeconds: 600,
      clockToleranceSeconds: 30,
      requiredClaims: ['repository', 'ref', 'run_id'],
    },
    {
      id: 'gitlab',
      issuer: GL_ISS,
      audience: ['zt-ffmpeg'],
      keys: [{ ...(createPublicKey(glKey).export({ format: 'jwk' }) as { kty: 'RSA'; n: string; e: string }), kid: 'gl-1', use: 'sig', alg: 'RS256' }],
      algorithms: ['RS256'],
      requiredClaims: ['project_path'],
    },
    {
      id: 'local',
      issuer: LOCAL_ISS,
      audience: ['zt-ffmpeg'],
      keys: [publicJwkFromPem(localPem)],
      algorithms: ['EdDSA'],
      clockToleranceSeconds: 0,
    },
  ];
}

function cfg(over: Partial<IdentityConfig> = {}): IdentityConfig {
  return { token: 'required', issuers: issuers(), bindToInput: false, singleUseJti: false, ...over };
}

function ctx(over: Partial<VerifyContext> = {}): VerifyContext {
  return { now: NOW, policyDir, operation: 'transcode', stateDir, ...over };
}

interface GhOpts {
  claims?: Record<string, unknown>;
  kid?: string | null;
  key?: KeyObject;
  iat?: number;
  nbf?: number;
  exp?: number;
  iss?: string;
  aud?: string | string[];
  jti?: string;
}

/** A token shaped like GitHub Actions' OIDC token. */
async function githubToken(o: GhOpts = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: o.jti ?? `gh-${Math.random().toString(36).slice(2)}`,
    sub: 'repo:acme/app:ref:refs/heads/main',
    aud: o.aud ?? 'zt-ffmpeg',
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    repository: 'acme/app',
    repository_owner: 'acme',
    run_id: '4242',
    run_attempt: '1',
    workflow: 'media',
    event_name: 'push',
    ref_type: 'branch',
    job_workflow_ref: 'acme/app/.github/workflows/media.yml@refs/heads/main',
    iss: o.iss ?? GH_ISS,
    nbf: o.nbf ?? NOW_S - 5,
    iat: o.iat ?? NOW_S - 5,
    exp: o.exp ?? NOW_S + 300,
    ...o.claims,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  const header: { alg: string; typ: string; kid?: string } = { alg: 'RS256', typ: 'JWT' };
  if (o.kid !== null) header.kid = o.kid ?? 'gh-1';
  return new SignJWT(claims).setProtectedHeader(header).sign(o.key ?? ghKey);
}

/** A token shaped like GitLab CI's id_token. */
async function gitlabToken(): Promise<string> {
  return new SignJWT({
    namespace_path: 'acme',
    project_path: 'acme/app',
    pipeline_id: '777',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    user_login: 'dev',
    jti: 'gl-jti-1',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'gl-1' })
    .setIssuer(GL_ISS)
    .setSubject('project_path:acme/app:ref_type:branch:ref:main')
    .setAudience('zt-ffmpeg')
    .setIssuedAt(NOW_S - 1)
    .setNotBefore(NOW_S - 1)
    .setExpirationTime(NOW_S + 300)
    .sign(glKey);
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

async function refusal(p: Promise<unknown>): Promise<ZtError> {
  try {
    await p;
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(ZtError);
    return e as ZtError;
  }
  throw new Error('expected the token to be refused, but it was accepted');
}

async function expectRefused(p: Promise<unknown>, reason: string, token?: string): Promise<ZtError> {
  const e = await refusal(p);
  expect(e.reason).toBe('unauthenticated');
  expect(e.exitCode).toBe(4);
  expect(e.details['reason']).toBe(reason);
  expect(e.hint).toBeTruthy();
  if (token !== undefined) {
    const sig = token.split('.')[2];
    if (sig) expect(e.message).not.toContain(sig);
  }
  return e;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zt-token-'));
  policyDir = path.join(dir, 'policy');
  stateDir = path.join(dir, 'state');
  await mkdir(path.join(policyDir, 'keys'), { recursive: true });
  ghKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  ghKey2 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  glKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ed = generateKeyPairSync('ed25519');
  localKey = ed.privateKey;
  localPub = ed.publicKey;
  localPem = localPub.export({ format: 'pem', type: 'spki' }).toString();
  const pubJwk = (k: KeyObject, kid: string): JWK => ({ ...createPublicKey(k).export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }) as JWK;
  // Like GitHub's published JWKS: several RS256 keys, each with a kid (and x5c-style extras).
  await writeFile(
    path.join(policyDir, 'keys', 'github-jwks.json'),
    JSON.stringify({ keys: [{ ...pubJwk(ghKey, 'gh-1'), x5t: 'ignored' }, pubJwk(ghKey2, 'gh-2')] }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('valid tokens are accepted', () => {
  it('a GitHub Actions OIDC token (RS256, JWKS file, rotated second key)', async () => {
    const token = await githubToken();
    const v = await verifyToken(token, cfg(), ctx());
    expect(v.issuerId).toBe('github');
    expect(v.iss).toBe(GH_ISS);
    expect(v.sub).toBe('repo:acme/app:ref:refs/heads/main');
    expect(v.alg).toBe('RS256');
    expect(v.kid).toBe('gh-1');
    expect(v.claims['repository']).toBe('acme/app');
    expect(v.claims['ref']).toBe('refs/heads/main');
    expect(v.exp).toBe(NOW_S + 300);
    expect(JSON.stringify(v)).not.toContain(token.split('.')[2]);
    const second = await verifyToken(await githubToken({ key: ghKey2, kid: 'gh-2' }), cfg(), ctx());
    expect(second.kid).toBe('gh-2');
  });

  it('a GitLab CI id_token (RS256, inline keys)', async () => {
    const v = await verifyToken(await gitlabToken(), cfg(), ctx());
    expect(v.issuerId).toBe('gitlab');
    expect(v.claims['project_path']).toBe('acme/app');
  });

  it('a local Ed25519 token from mintToken', async () => {
    const token = await mintToken({ privateKeyPem: localKey, issuer: LOCAL_ISS, subject: 'ci-bot', audience: 'zt-ffmpeg', ttlSeconds: 60, claims: { team: 'media' }, now: NOW });
    const v = await verifyToken(token, cfg(), ctx());
    expect(v.issuerId).toBe('local');
    expect(v.alg).toBe('EdDSA');
    expect(v.sub).toBe('ci-bot');
    expect(v.claims['team']).toBe('media');
    expect(v.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('tolerates clock skew within clockToleranceSeconds', async () => {
    await verifyToken(await githubToken({ exp: NOW_S - 10 }), cfg(), ctx());
    await verifyToken(await githubToken({ nbf: NOW_S + 10, iat: NOW_S }), cfg(), ctx());
  });

  it('accepts a token with surrounding whitespace (as read from a file)', async () => {
    await verifyToken(`  ${await githubToken()}\n`, cfg(), ctx());
  });
});

describe('each forged, stale or misdirected token is refused with its reason', () => {
  it('expired', async () => {
    const t = await githubToken({ iat: NOW_S - 500, nbf: NOW_S - 500, exp: NOW_S - 60 });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'expired', t);
    expect(e.message).toContain('expired');
    expect(e.details['claim']).toBe('exp');
  });

  it('not yet valid', async () => {
    const t = await githubToken({ nbf: NOW_S + 120, iat: NOW_S });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'not-yet-valid', t);
  });

  it('issued in the future', async () => {
    const t = await githubToken({ iat: NOW_S + 120, nbf: NOW_S - 1 });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'not-yet-valid', t);
  });

  it('too old (maxTokenAgeSeconds) although not expired', async () => {
    const t = await githubToken({ iat: NOW_S - 3600, nbf: NOW_S - 3600, exp: NOW_S + 3600 });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'too-old', t);
    expect(e.details['limit']).toBe(600);
  });

  it('wrong issuer', async () => {
    const t = await githubToken({ iss: 'https://token.actions.evil.example' });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'issuer', t);
    expect(e.message).toContain('https://token.actions.evil.example');
    expect(e.message).toContain(GH_ISS);
  });

  it('no issuer claim at all', async () => {
    const t = await githubToken({ iss: undefined as unknown as string, claims: { iss: undefined } });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'claim-missing', t);
  });

  it('wrong audience', async () => {
    const t = await githubToken({ aud: 'https://github.com/acme' });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'audience', t);
    expect(e.message).toContain('zt-ffmpeg');
  });

  it('wrong algorithm: HS256 signed with the public key as the HMAC secret (alg confusion)', async () => {
    const publicPem = Buffer.from(createPublicKey(ghKey).export({ format: 'pem', type: 'spki' }).toString());
    const t = await new SignJWT({ sub: 'x', aud: 'zt-ffmpeg', repository: 'acme/app', ref: 'refs/heads/main', run_id: '1' })
      .setProtectedHeader({ alg: 'HS256', kid: 'gh-1' })
      .setIssuer(GH_ISS)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(new Uint8Array(publicPem));
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'algorithm', t);
    expect(e.details['found']).toBe('HS256');
    expect(e.details['expected']).toEqual(['RS256']);
  });

  it('wrong algorithm: RS256 presented for an EdDSA-only issuer', async () => {
    const t = await githubToken({ iss: LOCAL_ISS, kid: 'whatever' });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'algorithm', t);
  });

  it('alg: none, hand-crafted, in any spelling', async () => {
    const payload = b64url({ iss: GH_ISS, sub: 'repo:acme/app:ref:refs/heads/main', aud: 'zt-ffmpeg', iat: NOW_S, exp: NOW_S + 60, repository: 'acme/app', ref: 'refs/heads/main', run_id: '1' });
    for (const alg of ['none', 'None', 'NONE']) {
      const t = `${b64url({ alg, typ: 'JWT' })}.${payload}.`;
      await expectRefused(verifyToken(t, cfg(), ctx()), 'alg-none');
    }
  });

  it('unknown key id', async () => {
    const t = await githubToken({ kid: 'gh-rotated-away', key: strangerKey });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'unknown-kid', t);
    expect(e.details['kid']).toBe('gh-rotated-away');
    expect(e.details['known']).toEqual(['gh-1', 'gh-2']);
  });

  it('no key id while the issuer has several keys: ambiguous, refused', async () => {
    const t = await githubToken({ kid: null });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'unknown-kid', t);
  });

  it('tampered payload (claim changed after signing)', async () => {
    const t = await githubToken();
    const [h, p, s] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    claims['ref'] = 'refs/heads/attacker';
    const forged = `${h}.${b64url(claims)}.${s}`;
    await expectRefused(verifyToken(forged, cfg(), ctx()), 'signature', forged);
  });

  it('signed by another key under a known key id', async () => {
    const t = await githubToken({ key: strangerKey, kid: 'gh-1' });
    await expectRefused(verifyToken(t, cfg(), ctx()), 'signature', t);
  });

  it('missing a required claim', async () => {
    const t = await githubToken({ claims: { repository: undefined } });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'claim-missing', t);
    expect(e.details['claim']).toBe('repository');
    expect(e.message).toContain('repository');
  });

  it('missing exp (always required)', async () => {
    const t = await githubToken({ exp: undefined as unknown as number, claims: { exp: undefined } });
    const e = await expectRefused(verifyToken(t, cfg(), ctx()), 'claim-missing', t);
    expect(e.details['claim']).toBe('exp');
  });

  it('malformed tokens', async () => {
    for (const t of ['', 'not a jwt', 'Bearer a.b.c', 'a.b', 'a.b.c.d', '!!!.???.###', 'x'.repeat(20000)]) {
      await expectRefused(verifyToken(t, cfg(), ctx()), 'malformed');
    }
    await expectRefused(verifyToken(`${b64url({ alg: 'RS256' })}.${Buffer.from('[1,2]').toString('base64url')}.sig`, cfg(), ctx()), 'malformed');
  });
});

describe('binding a token to the input', () => {
  it('audience form: accepted for the right (operation, digest), refused for another input or operation', async () => {
    const bound = cfg({ bindToInput: 'audience' });
    const mint = (operation: string, sha: string): Promise<string> =>
      mintToken({ privateKeyPem: localKey, issuer: LOCAL_ISS, subject: 'bot', audience: 'zt-ffmpeg', ttlSeconds: 60, operation, inputSha256: sha, now: NOW });
    const v = await verifyToken(await mint('transcode', INPUT_SHA), bound, ctx({ inputSha256: INPUT_SHA }));
    expect(v.boundTo).toEqual({ operation: 'transcode', inputSha256: INPUT_SHA });
    const other = await mint('transcode', OTHER_SHA);
    const e = await expectRefused(verifyToken(other, bound, ctx({ inputSha256: INPUT_SHA })), 'binding', other);
    expect(e.message).toContain(INPUT_SHA);
    await expectRefused(verifyToken(await mint('thumbnail', INPUT_SHA), bound, ctx({ inputSha256: INPUT_SHA })), 'binding');
    // An unbound token is refused too.
    await expectRefused(verifyToken(await githubToken(), bound, ctx({ inputSha256: INPUT_SHA })), 'binding');
    // And without a digest to check against, fail closed.
    await expectRefused(verifyToken(await mint('transcode', INPUT_SHA), bound, ctx()), 'binding');
  });

  it('audience form: a GitHub token whose only audience is the binding audience', async () => {
    const aud = `zt-ffmpeg:transcode:sha256:${INPUT_SHA}`;
    await verifyToken(await githubToken({ aud }), cfg({ bindToInput: 'audience' }), ctx({ inputSha256: INPUT_SHA }));
    const wrong = await githubToken({ aud: `zt-ffmpeg:transcode:sha256:${OTHER_SHA}` });
    await expectRefused(verifyToken(wrong, cfg({ bindToInput: 'audience' }), ctx({ inputSha256: INPUT_SHA })), 'binding');
  });

  it('claim form: zt_operation and zt_input_sha256 must match', async () => {
    const bound = cfg({ bindToInput: 'claim' });
    const ok = await githubToken({ claims: { zt_operation: 'transcode', zt_input_sha256: INPUT_SHA } });
    await verifyToken(ok, bound, ctx({ inputSha256: INPUT_SHA }));
    const other = await githubToken({ claims: { zt_operation: 'transcode', zt_input_sha256: OTHER_SHA } });
    await expectRefused(verifyToken(other, bound, ctx({ inputSha256: INPUT_SHA })), 'binding');
    await expectRefused(verifyToken(await githubToken(), bound, ctx({ inputSha256: INPUT_SHA })), 'binding');
  });
});

describe('single-use tokens', () => {
  it('a replayed jti is refused', async () => {
    const single = cfg({ singleUseJti: true });
    const t = await githubToken({ jti: 'once-only' });
    await verifyToken(t, single, ctx());
    const e = await expectRefused(verifyToken(t, single, ctx()), 'replay', t);
    expect(e.details['jti']).toBe('once-only');
  });

  it('consumeJti: false checks without burning the token', async () => {
    const single = cfg({ singleUseJti: true });
    const t = await githubToken({ jti: 'dry-run' });
    await verifyToken(t, single, ctx({ consumeJti: false }));
    await verifyToken(t, single, ctx({ consumeJti: false }));
    await verifyToken(t, single, ctx());
    await expectRefused(verifyToken(t, single, ctx({ consumeJti: false })), 'replay');
  });

  it('concurrent presentations: exactly one wins', async () => {
    const single = cfg({ singleUseJti: true });
    const t = await githubToken({ jti: 'raced' });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => verifyToken(t, single, ctx())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as ZtError).details['reason']).toBe('replay');
  });

  it('the same jti from different issuers does not collide', async () => {
    const single = cfg({ singleUseJti: true });
    await verifyToken(await githubToken({ jti: 'gl-jti-1' }), single, ctx());
    await verifyToken(await gitlabToken(), single, ctx());
  });

  it('a single-use policy refuses a token without jti', async () => {
    const t = await githubToken({ claims: { jti: undefined } });
    await expectRefused(verifyToken(t, cfg({ singleUseJti: true }), ctx()), 'claim-missing');
  });

  it('an unusable replay store fails closed', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const t = await githubToken();
    await expectRefused(verifyToken(t, cfg({ singleUseJti: true }), ctx({ stateDir: blocker })), 'replay-store');
  });

  it('pruning removes only markers of long-expired tokens', async () => {
    const sd = path.join(dir, 'prune-state');
    await useJti(sd, { iss: 'i', jti: 'old', exp: NOW_S - 3600 });
    await useJti(sd, { iss: 'i', jti: 'live', exp: NOW_S + 3600 });
    await useJti(sd, { iss: 'i', jti: 'just-expired', exp: NOW_S - 10 });
    expect(await pruneReplayStore(sd, NOW)).toBe(1);
    expect(await readdir(path.join(sd, 'jti'))).toHaveLength(2);
    expect(await useJti(sd, { iss: 'i', jti: 'live', exp: NOW_S + 3600 })).toBe('replayed');
    expect(await useJti(sd, { iss: 'i', jti: 'old', exp: NOW_S - 3600 })).toBe('fresh');
    const marker = (await readdir(path.join(sd, 'jti')))[0] as string;
    await utimes(path.join(sd, 'jti', marker), NOW_S - 7200, NOW_S - 7200);
    expect(await pruneReplayStore(sd, NOW)).toBeGreaterThanOrEqual(1);
  });
});

describe('broken key sets are policy errors (exit 9), not token errors', () => {
  it('missing JWKS file', async () => {
    const c = cfg({ issuers: [{ ...issuers()[0]!, jwksFile: './keys/nope.json' }] });
    const e = await refusal(verifyToken(await githubToken(), c, ctx()));
    expect(e.reason).toBe('policy-invalid');
    expect(e.exitCode).toBe(9);
    expect(e.message).toContain('nope.json');
  });

  it('a JWKS that carries a private key', async () => {
    const file = path.join(policyDir, 'keys', 'private-jwks.json');
    await writeFile(file, JSON.stringify({ keys: [{ ...ghKey.export({ format: 'jwk' }), kid: 'gh-1' }] }));
    const c = cfg({ issuers: [{ ...issuers()[0]!, jwksFile: './keys/private-jwks.json' }] });
    const e = await refusal(verifyToken(await githubToken(), c, ctx()));
    expect(e.exitCode).toBe(9);
    expect(e.message).toContain('private');
  });
});

describe('establishing the principal', () => {
  it('token required but none presented', async () => {
    const e = await refusal(establishPrincipal({ identity: cfg(), token: undefined, env: {}, verify: ctx(), os }));
    expect(e.exitCode).toBe(4);
    expect(e.details['reason']).toBe('no-token');
    expect(e.hint).toContain('--token');
  });

  it('optional: no token is fine, a bad token is refused', async () => {
    const est = await establishPrincipal({ identity: cfg({ token: 'optional' }), token: undefined, env: {}, verify: ctx(), os });
    expect(est.principal.token).toBeUndefined();
    await expectRefused(establishPrincipal({ identity: cfg({ token: 'optional' }), token: { token: 'garbage', source: 'flag' }, env: {}, verify: ctx(), os }), 'malformed');
  });

  it('off: a presented token is ignored and flagged', async () => {
    const est = await establishPrincipal({ identity: cfg({ token: 'off' }), token: { token: 'garbage', source: 'env' }, env: {}, verify: ctx(), os });
    expect(est.tokenIgnored).toBe(true);
    expect(est.principal.token).toBeUndefined();
  });

  it('a verified token plus the CI context (recorded, untrusted)', async () => {
    const est = await establishPrincipal({
      identity: cfg(),
      token: { token: await githubToken(), source: 'env' },
      env: { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/app', GITHUB_REF: 'refs/heads/main' },
      verify: ctx(),
      os,
    });
    expect(est.principal.token?.issuerId).toBe('github');
    expect(est.principal.ci).toMatchObject({ provider: 'github-actions', trusted: false, repository: 'acme/app' });
    expect(est.tokenSource).toBe('env');
  });
});

describe('reading the token', () => {
  it('flag, file, env, and conflicts', async () => {
    const f = path.join(dir, 'token.txt');
    await writeFile(f, 'aaa.bbb.ccc\n');
    expect(await readTokenInput({ flag: ' x.y.z ' })).toEqual({ token: 'x.y.z', source: 'flag' });
    expect(await readTokenInput({ file: f, env: 'e.e.e' })).toEqual({ token: 'aaa.bbb.ccc', source: 'file' });
    expect(await readTokenInput({ env: 'e.e.e' })).toEqual({ token: 'e.e.e', source: 'env' });
    expect(await readTokenInput({ env: '  ' })).toBeUndefined();
    expect(await readTokenInput({})).toBeUndefined();
    const both = await refusal(readTokenInput({ flag: 'a', file: f }));
    expect(both.exitCode).toBe(2);
    const missing = await refusal(readTokenInput({ file: path.join(dir, 'absent') }));
    expect(missing.exitCode).toBe(2);
    const notFile = await refusal(readTokenInput({ file: dir }));
    expect(notFile.exitCode).toBe(2);
    const fifo = path.join(dir, 'token.fifo');
    await exec('mkfifo', [fifo], { timeoutMs: 5000 });
    const fromFifo = await refusal(readTokenInput({ file: fifo }));
    expect(fromFifo.message).toContain('not a regular file');
  });
});
