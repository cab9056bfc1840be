import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, keyIdOf, loadSigningKey, loadTrustedKeys } from '../../src/keys/index.js';
import { makeTmpDir, removeDir, rejection, mode } from '../helpers/audit-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeDir(dir);
});



describe('keyIdOf', () => {
  it('is "ed25519:" + 32 hex digits, deterministic per key and distinct across keys', () => {
    const a = generateKeyPairSync('ed25519').publicKey;
    const b = generateKeyPairSync('ed25519').publicKey;
    expect(keyIdOf(a)).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(keyIdOf(a)).toBe(keyIdOf(a));
    expect(keyIdOf(a)).not.toBe(keyIdOf(b));
  });
});

describe('generateKeyPair', () => {
  it('writes audit.key 0600 and audit.pub 0644 in a new 0700 directory', async () => {
    const out = join(dir, 'keys', 'nested');
    const g = await generateKeyPair(out);
    expect(g.privateKeyPath).toBe(join(out, 'audit.key'));
    expect(await mode(out)).toBe(0o700);
    expect(await mode(g.privateKeyPath)).toBe(0o600);
    expect(await mode(g.publicKeyPath)).toBe(0o644);
    const key = await loadSigningKey(g.privateKeyPath, { autoGenerate: false });
    expect(key.keyId).toBe(g.keyId);
    const trusted = await loadTrustedKeys({ keyFiles: [g.publicKeyPath] });
    expect([...trusted.keys()]).toEqual([g.keyId]);
  });

  it('refuses to overwrite an existing key (usage)', async () => {
    await generateKeyPair(dir);
    const before = await fs.readFile(join(dir, 'audit.key'), 'utf8');
    const e = await rejection(generateKeyPair(dir));
    expect(e.reason).toBe('usage');
    expect(e.message).toMatch(/refusing to overwrite/);
    expect(await fs.readFile(join(dir, 'audit.key'), 'utf8')).toBe(before);
  });
});

describe('loadSigningKey', () => {
  it.each([0o640, 0o604, 0o644, 0o660])('refuses a key with mode %o, hinting chmod 600', async (m) => {
    const g = await generateKeyPair(dir);
    await fs.chmod(g.privateKeyPath, m);
    const e = await rejection(loadSigningKey(g.privateKeyPath, { autoGenerate: false }));
    expect(e.reason).toBe('audit-unavailable');
    expect(e.hint).toBe(`chmod 600 ${g.privateKeyPath}`);
  });

  it('refuses a symlink and a directory', async () => {
    const g = await generateKeyPair(dir);
    const link = join(dir, 'link.key');
    await fs.symlink(g.privateKeyPath, link);
    expect((await rejection(loadSigningKey(link, { autoGenerate: false }))).message).toMatch(/symbolic link/);
    expect((await rejection(loadSigningKey(dir, { autoGenerate: false }))).message).toMatch(/not a regular file/);
  });

  it('a missing key without autoGenerate names `zt-ffmpeg keygen --out DIR`', async () => {
    const p = join(dir, 'cfg', 'audit.key');
    const e = await rejection(loadSigningKey(p, { autoGenerate: false }));
    expect(e.reason).toBe('audit-unavailable');
    expect(e.hint).toContain(`zt-ffmpeg keygen --out ${join(dir, 'cfg')}`);
  });

  it('a missing key with autoGenerate is created 0600 in a 0700 directory, with its .pub', async () => {
    const p = join(dir, 'cfg', 'zt', 'audit.key');
    const k = await loadSigningKey(p, { autoGenerate: true });
    expect(await mode(p)).toBe(0o600);
    expect(await mode(join(dir, 'cfg', 'zt'))).toBe(0o700);
    const trusted = await loadTrustedKeys({ keyFiles: [join(dir, 'cfg', 'zt', 'audit.pub')] });
    expect(trusted.has(k.keyId)).toBe(true);
    // Loading again returns the same key.
    expect((await loadSigningKey(p, { autoGenerate: true })).keyId).toBe(k.keyId);
  });

  it('concurrent auto-generation yields one key', async () => {
    const p = join(dir, 'race', 'audit.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSigningKey(p, { autoGenerate: true })));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
  });

  it.each([
    ['rsa', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
    ['ec', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['ed448', () => generateKeyPairSync('ed448').privateKey],
  ])('refuses a %s private key', async (_n, make) => {
    const p = join(dir, 'other.key');
    await fs.writeFile(p, make().export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const e = await rejection(loadSigningKey(p, { autoGenerate: false }));
    expect(e.reason).toBe('audit-unavailable');
    expect(e.message).toMatch(/expected ed25519/);
  });

  it('refuses a file that is not a PEM key', async () => {
    const p = join(dir, 'junk.key');
    await fs.writeFile(p, 'not a key', { mode: 0o600 });
    expect((await rejection(loadSigningKey(p, { autoGenerate: false }))).message).toMatch(/not a PEM private key/);
  });
});

describe('loadTrustedKeys', () => {
  it('reads every *.pub in a keyring directory plus explicit files, and nothing else', async () => {
    const ring = join(dir, 'ring');
    const a = await generateKeyPair(join(dir, 'a'));
    const b = await generateKeyPair(join(dir, 'b'));
    const c = await generateKeyPair(join(dir, 'c'));
    await fs.mkdir(ring);
    await fs.copyFile(a.publicKeyPath, join(ring, 'host-a.pub'));
    await fs.copyFile(b.publicKeyPath, join(ring, 'host-b.pub'));
    await fs.writeFile(join(ring, 'README'), 'not a key');
    const t = await loadTrustedKeys({ keyringDir: ring, keyFiles: [c.publicKeyPath] });
    expect(new Set(t.keys())).toEqual(new Set([a.keyId, b.keyId, c.keyId]));
  });

  it('refuses a private key, a non-ed25519 key and an empty trust set', async () => {
    const a = await generateKeyPair(join(dir, 'a'));
    expect((await rejection(loadTrustedKeys({ keyFiles: [a.privateKeyPath] }))).reason).toBe('usage');
    const rsa = join(dir, 'rsa.pub');
    await fs.writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }));
    expect((await rejection(loadTrustedKeys({ keyFiles: [rsa] }))).message).toMatch(/expected ed25519/);
    const empty = join(dir, 'empty');
    await fs.mkdir(empty);
    expect((await rejection(loadTrustedKeys({ keyringDir: empty }))).message).toMatch(/no trusted audit keys/);
  });
});
