/**
 * Another local user (nobody, through runuser) shares the output directory with root's jobs,
 * or can write a trust root. Everything they can plant is refused or harmless: planted job dirs
 * and a symlink swapped in mid-sweep, directory symlinks at -o, predictable sidecar names, a
 * keyring they can add to, an audit key they own, a swapped or foreign JWKS.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmod, chown, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';
import { asOther, isRoot, OTHER_UID, otherLoop, reachableDir } from '../helpers/other-user.js';
import { lastRecord } from '../helpers/host-state.js';
import { mintToken } from '../../src/identity/mint.js';
import { publicJwkFromPem } from '../../src/keys/index.js';

let sb: Sandbox;
let base: string;
let shared: string;
let victim: string;
let input: string;

const victimFiles = async (): Promise<string[]> => (await readdir(victim)).sort();

beforeAll(async () => {
  sb = await makeSandbox('zt-shared-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
  base = await reachableDir('zt-shared-');
  // The shared output directory: world-writable and sticky, like /tmp, owned by root.
  shared = path.join(base, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o1777);
  // What the other user wants root to damage: a root-only directory with files in it.
  victim = path.join(base, 'victim');
  await mkdir(victim, { mode: 0o700 });
  for (const f of ['a', 'b', 'c']) await writeFile(path.join(victim, f), `${f}\n`);
});
afterAll(async () => {
  await sb.cleanup();
  await rm(base, { recursive: true, force: true });
});

const run = (out: string, extra: string[] = [], env: Record<string, string> = {}): ReturnType<Sandbox['run']> =>
  sb.run(['--json', 'run', '-i', input, '-o', out, ...extra], { env });

describe.runIf(isRoot)('a shared output directory', () => {
  it('planted job dirs and a symlink swapped in mid-sweep: the sweep touches none of them, the victim keeps every file', async () => {
    // Job dirs of "dead" jobs, planted by the other user; one holds `sub`, swapped for a link to the victim in a loop.
    const planted = path.join(shared, '.zt-ffmpeg-job-99999-x');
    expect((await asOther('/bin/mkdir', ['-p', path.join(planted, 'sub')])).code).toBe(0);
    expect((await asOther('/bin/sh', ['-c', `echo x > ${planted}/sub/f; echo y > ${planted}/output.mp4; ln -s ${victim} ${shared}/.zt-ffmpeg-job-deadbeef`])).code).toBe(0);
    const swap = otherLoop(`cd ${planted} && while :; do mv sub sub.d 2>/dev/null; ln -sfn ${victim} sub; rm -f sub; mv sub.d sub 2>/dev/null; done`);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await run(path.join(shared, `sweep-${i}.mp4`));
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      swap.stop();
    }
    expect(await victimFiles()).toEqual(['a', 'b', 'c']);
    // Not the caller's (owner uid 65534): left exactly as planted.
    expect(existsSync(path.join(planted, 'output.mp4'))).toBe(true);
    expect(existsSync(path.join(shared, '.zt-ffmpeg-job-deadbeef'))).toBe(true);
    // And root's own jobs left nothing behind.
    expect((await readdir(shared)).filter((n) => n.startsWith('.zt-ffmpeg-job-')).sort()).toEqual(['.zt-ffmpeg-job-99999-x', '.zt-ffmpeg-job-deadbeef']);
  });

  it('a directory symlink planted at -o is refused (exit 2, naming the link and its owner); nothing reaches the victim', async () => {
    expect((await asOther('/bin/ln', ['-s', victim, path.join(shared, 'link')])).code).toBe(0);
    const r = await run(path.join(shared, 'link', 'out.mp4'));
    expect(r.code, r.stderr).toBe(2);
    const j = r.json<{ reason: string; message: string; violations: Array<{ rule: string; actual: string }> }>();
    expect(j.violations[0]?.rule).toBe('output.dir');
    expect(j.message).toContain(`${path.join(shared, 'link')} is a symbolic link owned by uid ${OTHER_UID}`);
    expect(await victimFiles()).toEqual(['a', 'b', 'c']);
  });

  it('a directory the other user owns, or one writable by others without the sticky bit, is refused (exit 2)', async () => {
    expect((await asOther('/bin/mkdir', [path.join(shared, 'theirs')])).code).toBe(0);
    const theirs = await run(path.join(shared, 'theirs', 'out.mp4'));
    expect(theirs.code).toBe(2);
    expect(theirs.json<{ message: string }>().message).toMatch(/theirs is owned by uid 65534 \(uid 65534, mode 0755\)/);
    const open = path.join(base, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const r = await run(path.join(open, 'out.mp4'));
    expect(r.code).toBe(2);
    expect(r.json<{ message: string }>().message).toMatch(/open is writable by group and others without the sticky bit \(uid 0, mode 0777\)/);
  });

  it('predictable sidecar and temp names: the old temp names are never used; a planted provenance name refuses before any work', async () => {
    const policy = path.join(sb.dir, 'intoto.yaml');
    await writeFile(policy, 'extends: advanced\naudit:\n  intoto: true\n');
    // What the old code used: `.<out>.intoto.json.<pid>.tmp` for any pid.
    expect((await asOther('/bin/sh', ['-c', `for p in $(seq 1 400); do : > ${shared}/.prov.mp4.intoto.json.$p.tmp; done`])).code).toBe(0);
    const ok = await run(path.join(shared, 'prov.mp4'), ['-p', policy]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(await readFile(path.join(shared, 'prov.mp4.intoto.json'), 'utf8'))).toHaveProperty('payloadType');
    // The final name itself, planted: refused at once (exit 2), with a record, nothing published.
    expect((await asOther('/bin/sh', ['-c', `: > ${shared}/taken.mp4.intoto.json`])).code).toBe(0);
    const r = await run(path.join(shared, 'taken.mp4'), ['-p', policy]);
    expect(r.code).toBe(2);
    expect(r.json<{ violations: Array<{ rule: string }> }>().violations[0]?.rule).toBe('output.exists');
    expect(existsSync(path.join(shared, 'taken.mp4'))).toBe(false);
    expect((await lastRecord(sb.auditLog))['reason']).toBe('usage');
  });

  it('-o naming the input or the audit log is refused (exit 2)', async () => {
    const a = await run(input, ['--overwrite']);
    expect(a.code).toBe(2);
    expect(a.json<{ violations: Array<{ rule: string }> }>().violations[0]?.rule).toBe('output.protected');
    const b = await sb.run(['--json', 'run', '-i', input, '-o', sb.auditLog + '.mp4', '--audit-log', sb.auditLog + '.mp4']);
    expect(b.code).toBe(2);
  });
});

describe.runIf(isRoot)('trust roots another user can write', () => {
  it('a keyring the other user can add a key to: their key is refused (exit 9), and so is a keyring they can write', async () => {
    const signer = path.join(sb.dir, 'signer');
    expect((await sb.run(['keygen', '--out', signer])).code).toBe(0);
    const keyring = path.join(base, 'keyring');
    await mkdir(keyring);
    await copyFile(path.join(signer, 'audit.pub'), path.join(keyring, 'signer.pub'));
    await chmod(keyring, 0o1777);
    const policy = path.join(sb.dir, 'signed.yaml');
    await writeFile(policy, 'extends: advanced\n');
    expect((await sb.run(['policy', 'sign', policy, '--key', path.join(signer, 'audit.key')])).code).toBe(0);
    // Sticky, root's: fine as long as only trusted keys lie in it.
    expect((await run(path.join(sb.dir, 'k0.mp4'), ['-p', policy], { ZT_FFMPEG_POLICY_KEYRING: keyring })).code).toBe(0);
    // The other user adds their own key (and would re-sign a loosened policy with it).
    const evil = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect((await asOther('/bin/sh', ['-c', `printf '%s' '${evil}' > ${keyring}/evil.pub`])).code).toBe(0);
    const r = await run(path.join(sb.dir, 'k1.mp4'), ['-p', policy], { ZT_FFMPEG_POLICY_KEYRING: keyring });
    expect(r.code).toBe(9);
    expect(r.json<{ message: string }>().message).toMatch(/evil\.pub .*owned by uid 65534/);
    await rm(path.join(keyring, 'evil.pub'));
    await chmod(keyring, 0o777);
    const w = await run(path.join(sb.dir, 'k2.mp4'), ['-p', policy], { ZT_FFMPEG_POLICY_KEYRING: keyring });
    expect(w.code).toBe(9);
    expect(w.json<{ message: string }>().message).toMatch(/writable by group and others without the sticky bit/);
  });

  it('an audit key owned by the other user, even 0600, is refused (exit 8): they could append validly signed records', async () => {
    const dir = path.join(sb.dir, 'theirkey');
    expect((await sb.run(['keygen', '--out', dir])).code).toBe(0);
    await chown(path.join(dir, 'audit.key'), OTHER_UID, OTHER_UID);
    const r = await sb.run(['--json', '--audit-key', path.join(dir, 'audit.key'), 'run', '-i', input, '-o', path.join(sb.dir, 'tk.mp4')]);
    expect(r.code).toBe(8);
    expect(r.json<{ message: string }>().message).toMatch(/audit signing key .* owned by uid 65534 \(uid 65534, mode 0600\)/);
    expect(existsSync(path.join(sb.dir, 'tk.mp4'))).toBe(false);
  });

  describe('the JWKS a signed policy names', () => {
    const ISSUER = 'https://issuer.test.local';
    let dir: string;
    let keyring: string;
    let issuerPem: string;
    let policy: string;

    const mint = (pem: string): Promise<string> => mintToken({ privateKeyPem: pem, issuer: ISSUER, subject: 'ci-bot', audience: 'zt-ffmpeg', ttlSeconds: 300, jti: randomUUID() });
    const jwksOf = (pem: string): string => JSON.stringify({ keys: [publicJwkFromPem(pem)] });
    const policyText = (sha: string | undefined): string => `extends: advanced
allowLoosening: true
identity:
  token: required
  issuers:
    - id: test
      issuer: ${ISSUER}
      audience: [zt-ffmpeg]
      jwksFile: issuer.jwks.json
${sha ? `      jwksSha256: "${sha}"\n` : ''}      algorithms: [EdDSA]
  bindToInput: false
  singleUseJti: false
authorization:
  default: deny
  rules:
    - id: ci
      match: { issuers: [test] }
      allow: { operations: [transcode], rawArgs: false }
`;
    const jobWith = (token: string, out: string): ReturnType<Sandbox['run']> =>
      sb.run(['--json', 'run', '-i', input, '-o', path.join(sb.dir, out), '-p', policy, '--token', token], { env: { ZT_FFMPEG_POLICY_KEYRING: keyring } });

    beforeAll(async () => {
      dir = path.join(sb.dir, 'jwks');
      keyring = path.join(dir, 'keyring');
      await mkdir(keyring, { recursive: true });
      expect((await sb.run(['keygen', '--out', path.join(dir, 'signer')])).code).toBe(0);
      await copyFile(path.join(dir, 'signer', 'audit.pub'), path.join(keyring, 'signer.pub'));
      issuerPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await writeFile(path.join(dir, 'issuer.jwks.json'), jwksOf(issuerPem));
      const sha = createHash('sha256').update(await readFile(path.join(dir, 'issuer.jwks.json'))).digest('hex');
      policy = path.join(dir, 'policy.yaml');
      await writeFile(policy, policyText(sha));
      expect((await sb.run(['policy', 'sign', policy, '--key', path.join(dir, 'signer', 'audit.key')])).code).toBe(0);
    });

    it('the pinned JWKS admits the issuer\'s token', async () => {
      const r = await jobWith(await mint(issuerPem), 'j0.mp4');
      expect(r.code, r.stderr).toBe(0);
    });

    it('a swapped JWKS with an attacker-minted token is refused (exit 9): the pin no longer matches', async () => {
      const attacker = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const original = await readFile(path.join(dir, 'issuer.jwks.json'));
      await writeFile(path.join(dir, 'issuer.jwks.json'), jwksOf(attacker));
      try {
        const r = await jobWith(await mint(attacker), 'j1.mp4');
        expect(r.code).toBe(9);
        expect(r.json<{ message: string }>().message).toMatch(/has sha256 [0-9a-f]{64}, but the policy pins/);
        expect(existsSync(path.join(sb.dir, 'j1.mp4'))).toBe(false);
      } finally {
        await writeFile(path.join(dir, 'issuer.jwks.json'), original);
      }
    });

    it('a JWKS the other user owns is refused (exit 9), pinned or not', async () => {
      await chown(path.join(dir, 'issuer.jwks.json'), OTHER_UID, OTHER_UID);
      try {
        const r = await jobWith(await mint(issuerPem), 'j2.mp4');
        expect(r.code).toBe(9);
        expect(r.json<{ message: string }>().message).toMatch(/issuer\.jwks\.json .*owned by uid 65534/);
      } finally {
        await chown(path.join(dir, 'issuer.jwks.json'), 0, 0);
      }
    });

    it('a signed policy that does not pin its JWKS is refused (exit 9)', async () => {
      const unpinned = path.join(dir, 'unpinned.yaml');
      await writeFile(unpinned, policyText(undefined));
      expect((await sb.run(['policy', 'sign', unpinned, '--key', path.join(dir, 'signer', 'audit.key')])).code).toBe(0);
      const r = await sb.run(['--json', 'run', '-i', input, '-o', path.join(sb.dir, 'j3.mp4'), '-p', unpinned, '--token', await mint(issuerPem)], { env: { ZT_FFMPEG_POLICY_KEYRING: keyring } });
      expect(r.code).toBe(9);
      expect(r.json<{ message: string }>().message).toMatch(/relies on files it does not pin: identity\.issuers\[test\]\.jwksFile/);
    });
  });
});
