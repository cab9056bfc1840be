/**
 * Authenticated and authorized gates through the built CLI, with real tokens minted at test
 * time: the valid one runs; every bad one is refused with exit 4 and an audit record naming why.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomUUID, generateKeyPairSync, createHash } from 'node:crypto';
import path from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';
import { mintToken } from '../../src/identity/mint.js';
import { publicJwkFromPem } from '../../src/keys/index.js';

let sb: Sandbox;
let issuerPem: string;
let policyFile: string;
let input: string;
let otherInput: string;
let inputSha: string;

const ISSUER = 'https://issuer.test.local';

function mint(over: Partial<Parameters<typeof mintToken>[0]> = {}): Promise<string> {
  return mintToken({ privateKeyPem: issuerPem, issuer: ISSUER, subject: 'ci-bot', audience: 'zt-ffmpeg', ttlSeconds: 300, operation: 'transcode', inputSha256: inputSha, jti: randomUUID(), ...over });
}

beforeAll(async () => {
  sb = await makeSandbox('zt-identity-');
  const keys = generateKeyPairSync('ed25519');
  issuerPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pubPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await mkdir(path.join(sb.dir, 'keys'));
  await writeFile(path.join(sb.dir, 'keys', 'issuer.jwks.json'), JSON.stringify({ keys: [publicJwkFromPem(pubPem)] }));
  const base = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
  const policy = base
    .replace(/identity:\n(  .*\n|\s*#.*\n)+?(?=\n# ---)/, `identity:
  token: required
  issuers:
    - id: test
      issuer: ${ISSUER}
      audience: [zt-ffmpeg]
      jwksFile: keys/issuer.jwks.json
      algorithms: [EdDSA]
      maxTokenAgeSeconds: 600
      clockToleranceSeconds: 5
      requiredClaims: [jti]
  bindToInput: claim
  singleUseJti: true
`)
    .replace(/    - id: local-operators\n(      .*\n)+/, `    - id: ci-bots
      match:
        issuers: [test]
        claims: { sub: "ci-*" }
      allow:
        operations: [transcode]
        rawArgs: false
`);
  expect(policy).toContain('token: required');
  expect(policy).toContain('id: ci-bots');
  policyFile = path.join(sb.dir, 'policy.yaml');
  await writeFile(policyFile, policy);
  input = await makeSample(sb.dir, 'tone.wav');
  otherInput = await makeSample(sb.dir, 'tone.flac');
  inputSha = createHash('sha256').update(await readFile(input)).digest('hex');
});
afterAll(async () => sb.cleanup());

interface Refusal { exitCode: number; reason: string; verdict: string; audit: { seqs: number[] } }

async function auditEvent(seq: number): Promise<Record<string, unknown>> {
  const lines = (await readFile(sb.auditLog, 'utf8')).trim().split('\n');
  const rec = lines.map((l) => JSON.parse(l) as { payload: { seq: number; event: Record<string, unknown> } }).find((r) => r.payload.seq === seq);
  if (!rec) throw new Error(`no record ${seq}`);
  return rec.payload.event;
}

async function runWith(token: string | undefined, out: string, file = input): Promise<{ code: number; j: Refusal; stderr: string }> {
  const r = await sb.run(['run', '-i', file, '-o', out, '-p', policyFile, '--json', ...(token !== undefined ? ['--token', token] : [])]);
  return { code: r.code, j: r.json<Refusal>(), stderr: r.stderr };
}

describe('identity and authorization gates', () => {
  it('a valid token bound to this input runs the job', async () => {
    const out = path.join(sb.dir, 'ok.wav');
    const { code, j, stderr } = await runWith(await mint(), out);
    expect(code, stderr).toBe(0);
    expect(j.verdict).toBe('ok');
    const decision = await auditEvent(j.audit.seqs[0]!);
    expect(decision['type']).toBe('decision');
    expect(JSON.stringify(decision['principal'])).toContain('ci-bot');
    expect(JSON.stringify(decision)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // never the raw token
  });

  const now = Date.now();
  const cases: Array<[string, () => Promise<string | undefined>, string]> = [
    ['no token', async () => undefined, 'no-token'],
    ['expired', () => mint({ now: new Date(now - 3600_000) }), 'expired'],
    ['not yet valid', () => mint({ now: new Date(now + 3600_000) }), 'not-yet-valid'],
    ['wrong issuer', () => mint({ issuer: 'https://evil.example' }), 'issuer'],
    ['wrong audience', () => mint({ audience: 'someone-else' }), 'audience'],
    ['bound to another input', () => mint({ inputSha256: 'a'.repeat(64) }), 'binding'],
    ['unknown key id', () => mint({ kid: 'nobody-knows-me' }), 'unknown-kid'],
    ['alg none', async () => {
      const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const t = Math.floor(now / 1000);
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: ISSUER, sub: 'ci-bot', aud: 'zt-ffmpeg', iat: t, nbf: t, exp: t + 300, jti: randomUUID(), zt_operation: 'transcode', zt_input_sha256: inputSha })}.`;
    }, 'alg-none'],
    ['wrong algorithm (HS256 keyed with public material)', async () => {
      const t = Math.floor(now / 1000);
      return new SignJWT({ zt_operation: 'transcode', zt_input_sha256: inputSha }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setSubject('ci-bot').setAudience('zt-ffmpeg').setIssuedAt(t).setExpirationTime(t + 300).setJti(randomUUID()).sign(new TextEncoder().encode('public-key-material-used-as-secret'));
    }, 'algorithm'],
    ['tampered payload', async () => {
      const [h, p, s] = (await mint()).split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      payload['sub'] = 'ci-admin';
      return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    }, 'signature'],
  ];

  it.each(cases)('refuses a token that is %s (exit 4, reason recorded)', async (_name, make, reason) => {
    const out = path.join(sb.dir, `refused-${reason}.wav`);
    const { code, j, stderr } = await runWith(await make(), out);
    expect(code, stderr).toBe(4);
    expect(j.verdict).toBe('refused');
    expect(existsSync(out)).toBe(false);
    const rec = await auditEvent(j.audit.seqs[0]!);
    expect(rec['type']).toBe('refusal');
    expect((rec['details'] as { reason?: string } | undefined)?.reason).toBe(reason);
  });

  it('refuses a replayed token id (single use)', async () => {
    const token = await mint();
    const first = await runWith(token, path.join(sb.dir, 'once.wav'));
    expect(first.code, first.stderr).toBe(0);
    const again = await runWith(token, path.join(sb.dir, 'twice.wav'));
    expect(again.code).toBe(4);
    const rec = await auditEvent(again.j.audit.seqs[0]!);
    expect((rec['details'] as { reason?: string }).reason).toBe('replay');
  });

  it('a token minted for one file cannot process another', async () => {
    const { code, j } = await runWith(await mint(), path.join(sb.dir, 'other.wav'), otherInput);
    expect(code).toBe(4);
    const rec = await auditEvent(j.audit.seqs[0]!);
    expect((rec['details'] as { reason?: string }).reason).toBe('binding');
  });

  it('a valid token whose subject no rule allows is unauthorized (exit 4, rule named)', async () => {
    const r = await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'nosub.wav'), '-p', policyFile, '--json', '--token', await mint({ subject: 'intern' })]);
    expect(r.code).toBe(4);
    const j = r.json<{ reason: string; violations: Array<{ rule: string }> }>();
    expect(j.reason).toBe('unauthorized');
    expect(j.violations.map((v) => v.rule).join(' ')).toContain('ci-bots');
  });

  it('token mint from the CLI produces a token the policy accepts', async () => {
    const keyFile = path.join(sb.dir, 'issuer.key');
    await writeFile(keyFile, issuerPem, { mode: 0o600 });
    const m = await sb.run(['token', 'mint', '--key', keyFile, '--issuer', ISSUER, '--subject', 'ci-cli', '--operation', 'transcode', '--input', input, '--json']);
    expect(m.code, m.stderr).toBe(0);
    const token = m.json<{ token: string; inputSha256: string }>();
    expect(token.inputSha256).toBe(inputSha);
    const r = await runWith(token.token, path.join(sb.dir, 'cli-minted.wav'));
    expect(r.code, r.stderr).toBe(0);
  });

  it('keeps one intact audit chain through all of it', async () => {
    const r = await sb.run(['audit', 'verify', sb.auditLog, '--key', sb.auditPub]);
    expect(r.code, r.stderr).toBe(0);
  });
});
void importPKCS8;
