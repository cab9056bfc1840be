/**
 * The optimal stage end to end: a signed policy (checked against a keyring from outside the
 * policy), a provisioned audit key, a bound single-use token, strict seccomp and the deep
 * check. One changed character or a removed signature refuses the policy (exit 9); a pinned
 * binary hash that does not match refuses the job (exit 7).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, mkdir, copyFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

let sb: Sandbox;
let dir: string;
let policy: string;
let keyring: string;
let auditKey: string;
let issuerKey: string;
let input: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-optimal-');
  dir = path.join(sb.dir, 'deploy');
  keyring = path.join(dir, 'keyring');
  await mkdir(keyring, { recursive: true });
  // Provisioned keys: the audit key, the policy signer, the token issuer.
  for (const name of ['audit', 'signer', 'issuer']) {
    const r = await sb.run(['keygen', '--out', path.join(sb.dir, name)]);
    expect(r.code, r.stderr).toBe(0);
  }
  auditKey = path.join(sb.dir, 'audit', 'audit.key');
  issuerKey = path.join(sb.dir, 'issuer', 'audit.key');
  await copyFile(path.join(sb.dir, 'signer', 'audit.pub'), path.join(keyring, 'signer.pub'));
  await copyFile(path.join(sb.dir, 'audit', 'audit.pub'), path.join(keyring, 'audit.pub'));
  const { publicJwkFromPem } = await import('../../src/keys/index.js');
  await writeFile(path.join(keyring, 'issuer.jwks.json'), JSON.stringify({ keys: [publicJwkFromPem(await readFile(path.join(sb.dir, 'issuer', 'audit.pub'), 'utf8'))] }));
  policy = path.join(dir, 'policy.yaml');
  // A signed policy pins the JWKS it relies on (the bundled template holds a placeholder).
  const jwksSha = createHash('sha256').update(await readFile(path.join(keyring, 'issuer.jwks.json'))).digest('hex');
  await writeFile(policy, (await readFile(path.join(ROOT, 'policies', 'optimal.yaml'), 'utf8')).replace(/jwksSha256: "0{64}"/, `jwksSha256: "${jwksSha}"`));
  const s = await sb.run(['policy', 'sign', policy, '--key', path.join(sb.dir, 'signer', 'audit.key')]);
  expect(s.code, s.stderr).toBe(0);
  input = await makeSample(sb.dir, 'h264-aac.mp4');
});
afterAll(async () => sb.cleanup());

async function token(file: string): Promise<string> {
  const r = await sb.run(['token', 'mint', '--key', issuerKey, '--issuer', 'zt-ffmpeg-local', '--subject', 'uploader', '--audience', 'zt-ffmpeg', '--operation', 'transcode', '--input', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const run = async (p: string, out: string, extra: string[] = []): Promise<{ code: number; stderr: string; stdout: string }> =>
  sb.run(['--policy-keyring', keyring, '--audit-key', auditKey, 'run', '-i', input, '-o', out, '-p', p, '--token', await token(input), ...extra]);

describe('the optimal stage', () => {
  it('a signed optimal policy runs a bound, token-authorised job under strict seccomp', async () => {
    const out = path.join(sb.dir, 'optimal.mp4');
    const r = await run(policy, out, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { verdict: string; timings: Record<string, number>; policy: { stage: string } };
    expect(j.policy.stage).toBe('optimal');
    expect(j.timings['deepCheck']).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
  });

  it('refuses the same policy with one character changed (exit 9)', async () => {
    const changed = path.join(dir, 'changed.yaml');
    const text = await readFile(policy, 'utf8');
    await writeFile(changed, text.replace('wallSeconds: 900', 'wallSeconds: 901'));
    await copyFile(`${policy}.sig`, `${changed}.sig`);
    const out = path.join(sb.dir, 'changed.mp4');
    const r = await run(changed, out);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/signature|sha256|digest/i);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses the policy with its signature removed (exit 9)', async () => {
    const unsigned = path.join(dir, 'unsigned.yaml');
    await copyFile(policy, unsigned);
    await rm(`${unsigned}.sig`, { force: true });
    const r = await run(unsigned, path.join(sb.dir, 'unsigned.mp4'));
    expect(r.code).toBe(9);
    expect(r.stderr).toContain('zt-ffmpeg policy sign');
  });

  it('refuses an unsigned policy of any stage when a policy keyring is given (trust comes from outside)', async () => {
    const adv = path.join(dir, 'advanced-unsigned.yaml');
    await copyFile(path.join(ROOT, 'policies', 'advanced.yaml'), adv);
    const r = await sb.run(['--policy-keyring', keyring, 'run', '-i', input, '-o', path.join(sb.dir, 'adv.mp4'), '-p', adv]);
    expect(r.code).toBe(9);
  });

  it('refuses to auto-generate the audit key at optimal (exit 8)', async () => {
    const r = await sb.run(['--policy-keyring', keyring, '--audit-key', path.join(sb.dir, 'nokey', 'audit.key'), 'run', '-i', input, '-o', path.join(sb.dir, 'nokey.mp4'), '-p', policy, '--token', await token(input)]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('keygen');
    expect(existsSync(path.join(sb.dir, 'nokey', 'audit.key'))).toBe(false);
  });

  it('a log kept by one key refuses appends signed by another (exit 8)', async () => {
    const r = await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'otherkey.mp4')]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('kept by another key');
  });

  it('refuses a job when the pinned ffmpeg hash does not match (exit 7)', async () => {
    const pinned = path.join(sb.dir, 'pinned.yaml');
    const text = (await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8')).replace(
      'ffmpeg: { path: /usr/bin/ffmpeg, minVersion: "5.1" }',
      `ffmpeg: { path: /usr/bin/ffmpeg, minVersion: "5.1", sha256: "${'0'.repeat(64)}" }`,
    );
    expect(text).toContain('0'.repeat(64));
    await writeFile(pinned, text);
    const out = path.join(sb.dir, 'pinned.mp4');
    // (A log of its own: the shared one is kept by the provisioned key of the tests above.)
    const r = await sb.run(['--audit-log', path.join(sb.dir, 'pin.log'), 'run', '-i', input, '-o', out, '-p', pinned, '--json']);
    expect(r.code).toBe(7);
    const j = JSON.parse(r.stdout) as { violations: Array<{ rule: string }> };
    expect(j.violations.map((v) => v.rule)).toContain('posture.ffmpeg.sha256');
    expect(existsSync(out)).toBe(false);
  });

  it('policy pin fills the real hashes, after which the job runs', async () => {
    const pinned = path.join(sb.dir, 'pin-me.yaml');
    await copyFile(path.join(ROOT, 'policies', 'advanced.yaml'), pinned);
    const p = await sb.run(['policy', 'pin', pinned]);
    expect(p.code, p.stderr).toBe(0);
    expect(await readFile(pinned, 'utf8')).toMatch(/sha256: [0-9a-f]{64}/);
    expect(await readFile(pinned, 'utf8')).toContain('# --- Devices pillar');
    const r = await sb.run(['--audit-log', path.join(sb.dir, 'pin.log'), 'run', '-i', input, '-o', path.join(sb.dir, 'pinned-ok.mp4'), '-p', pinned]);
    expect(r.code, r.stderr).toBe(0);
  });
});
