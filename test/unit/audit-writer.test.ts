import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  canonicalize,
  checkpointPathFor,
  encodeRecord,
  openAuditLog,
  resealAuditLog,
  rotateKey,
  verifyLogs,
  GENESIS_PREV,
} from '../../src/audit/index.js';
import { generateKeyPair, loadSigningKey, trustedKeysOf, type SigningKey } from '../../src/keys/index.js';
import { ZtError } from '../../src/errors.js';
import { exec } from '../../src/util/exec.js';
import { buildLog, bundleAppender, decision, makeTmpDir, memoryKey, removeDir, result, splitLines, rejection, mode } from '../helpers/audit-fixtures.js';

let root: string;
let dir: string;
let n = 0;
let key: SigningKey;
let appender: string;

beforeAll(async () => {
  root = await makeTmpDir();
  key = memoryKey('A');
  appender = await bundleAppender(root);
});
afterAll(async () => {
  await removeDir(root);
});
beforeEach(async () => {
  dir = join(root, `case-${n++}`);
  await fs.mkdir(dir);
});


/** Poll a condition (no timing is asserted: it only bounds the wait). */
async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const verifyOk = async (logPath: string, keys: SigningKey[] = [key]): Promise<boolean> =>
  (await verifyLogs({ logPaths: [logPath], trusted: trustedKeysOf(keys.map((k) => k.publicKey)) })).ok;

describe('openAuditLog / append', () => {
  it('creates the directory 0700 and the log and checkpoint 0600; seq from 0; prev links', async () => {
    const logPath = join(dir, 'state', 'zt', 'audit.log');
    const w = await openAuditLog({ logPath, key });
    const a = await w.append(decision('j1'));
    const b = await w.append(result('j1'));
    await w.close();
    expect(await mode(join(dir, 'state', 'zt'))).toBe(0o700);
    expect(await mode(logPath)).toBe(0o600);
    expect(await mode(checkpointPathFor(logPath))).toBe(0o600);
    expect([a.seq, b.seq]).toEqual([0, 1]);
    const lines = (await fs.readFile(logPath, 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const first = JSON.parse(lines[0] as string) as { payload: { prev: string; kid: string; ts: string } };
    const second = JSON.parse(lines[1] as string) as { payload: { prev: string } };
    expect(first.payload.prev).toBe(GENESIS_PREV);
    expect(second.payload.prev).toBe(a.hash);
    expect(first.payload.kid).toBe(key.keyId);
    expect(first.payload.ts).toMatch(/Z$/);
    expect(canonicalize(JSON.parse(lines[0] as string))).toBe(lines[0]);
    expect(`${lines[0]}\n`).toBe(a.line);
    expect(await verifyOk(logPath)).toBe(true);
  });

  it('appends in O(1): the head comes from the checkpoint, not from re-reading the log', async () => {
    const logPath = join(dir, 'audit.log');
    await buildLog(logPath, key, 3);
    // Damage an early record in place (same length). A writer that re-read the
    // whole log would notice; ours reads only the checkpoint and the tail.
    const data = await fs.readFile(logPath);
    const at = data.indexOf('"jobId":"job-0"') + 10;
    data[at] = 'X'.charCodeAt(0);
    await fs.writeFile(logPath, data);
    const w = await openAuditLog({ logPath, key });
    expect((await w.append(decision('late'))).seq).toBe(6);
    await w.close();
    // The verifier, of course, reads everything.
    const r = await verifyLogs({ logPaths: [logPath], trusted: trustedKeysOf([key.publicKey]) });
    expect(r.logs[0]?.firstBad).toMatchObject({ line: 1, fault: 'modified' });
  });

  it('refuses to write key-rotation records or non-JSON events (bugs, not ZtErrors)', async () => {
    const w = await openAuditLog({ logPath: join(dir, 'a.log'), key });
    await expect(w.append({ type: 'key-rotation' })).rejects.toThrow(/rotateKey/);
    await expect(w.append({ type: 'decision', jobId: 'x', n: Number.NaN })).rejects.toThrow(/canonicalize/);
    await w.close();
  });
});

describe('crash recovery and damaged heads', () => {
  async function logWithRecords(): Promise<string> {
    const logPath = join(dir, 'audit.log');
    await buildLog(logPath, key, 2);
    return logPath;
  }

  it('a valid record appended without its checkpoint update (a crash) is refused until resealed', async () => {
    const logPath = await logWithRecords();
    const lines = splitLines(await fs.readFile(logPath));
    const last = lines[lines.length - 1] as Buffer;
    const { createHash } = await import('node:crypto');
    const prev = createHash('sha256').update(last).digest('hex');
    const orphan = encodeRecord({ v: 1, seq: 4, prev, ts: new Date().toISOString(), kid: key.keyId, event: decision('crashed') }, [key]);
    await fs.appendFile(logPath, orphan.bytes);
    // The writer never adopts it by itself: that is what a shortened-then-extended log looks like too.
    const refused = await rejection(openAuditLog({ logPath, key }));
    expect(refused.reason).toBe('audit-invalid');
    expect(refused.message).toMatch(/past its checkpoint/);
    expect(refused.hint).toMatch(/audit reseal/);
    const sealed = await resealAuditLog({ logPath, key });
    expect(sealed.after.size).toBe(5);
    const w = await openAuditLog({ logPath, key });
    const next = await w.append(result('crashed'));
    await w.close();
    expect(next.seq).toBe(5);
    expect(JSON.parse(next.line).payload.prev).toBe(orphan.hash);
    expect(await verifyOk(logPath)).toBe(true);
  });

  it('a log whose checkpoint is missing is refused, and re-sealed only when asked, after checking every record', async () => {
    const logPath = await logWithRecords();
    await fs.rm(checkpointPathFor(logPath));
    const refused = await rejection(openAuditLog({ logPath, key }));
    expect(refused.reason).toBe('audit-invalid');
    expect(refused.message).toMatch(/has no checkpoint/);
    expect(refused.hint).toMatch(/--no-checkpoint.*audit reseal/);
    expect((await resealAuditLog({ logPath, key })).after.size).toBe(4);
    const w = await openAuditLog({ logPath, key });
    expect((await w.append(decision('after'))).seq).toBe(4);
    await w.close();
    expect(await verifyOk(logPath)).toBe(true);
  });

  it.each([
    ['junk bytes', Buffer.from('garbage\n')],
    ['an incomplete record', Buffer.from('{"payload":{"event"')],
  ])('refuses %s past the checkpoint (audit-invalid), even when asked to reseal', async (_n, tail) => {
    const logPath = await logWithRecords();
    await fs.appendFile(logPath, tail);
    const e = await rejection(openAuditLog({ logPath, key }));
    expect(e.reason).toBe('audit-invalid');
    expect(e.hint).toMatch(/audit verify/);
    expect((await rejection(resealAuditLog({ logPath, key }))).reason).toBe('audit-invalid');
  });

  it('refuses a record past the checkpoint signed by another key', async () => {
    const logPath = await logWithRecords();
    const other = memoryKey('other');
    const lines = splitLines(await fs.readFile(logPath));
    const { createHash } = await import('node:crypto');
    const prev = createHash('sha256').update(lines[3] as Buffer).digest('hex');
    await fs.appendFile(logPath, encodeRecord({ v: 1, seq: 4, prev, ts: new Date().toISOString(), kid: other.keyId, event: decision('x') }, [other]).bytes);
    const e = await rejection(resealAuditLog({ logPath, key }));
    expect(e.reason).toBe('audit-invalid');
    expect(e.message).toMatch(/not a record signed by this writer's key/);
  });

  it('refuses a log shorter than its checkpoint (truncated)', async () => {
    const logPath = await logWithRecords();
    const lines = splitLines(await fs.readFile(logPath));
    await fs.writeFile(logPath, Buffer.concat(lines.slice(0, 3)));
    const e = await rejection(openAuditLog({ logPath, key }));
    expect(e.reason).toBe('audit-invalid');
    expect(e.message).toMatch(/truncated/);
  });

  it('refuses a checkpoint signed by another key, or with a bad signature', async () => {
    const logPath = await logWithRecords();
    const e = await rejection(openAuditLog({ logPath, key: memoryKey('B') }));
    expect(e.reason).toBe('audit-invalid');
    expect(e.message).toMatch(/signed by/);
    const cp = JSON.parse(await fs.readFile(checkpointPathFor(logPath), 'utf8')) as { payload: { bytes: number } };
    cp.payload.bytes += 1;
    await fs.writeFile(checkpointPathFor(logPath), `${canonicalize(cp)}\n`);
    expect((await rejection(openAuditLog({ logPath, key }))).message).toMatch(/invalid signature/);
  });
});

describe('locking', () => {
  it('a lock file naming some pid (pid 1, alive) does not block: only a held flock does', async () => {
    const logPath = join(dir, 'audit.log');
    await fs.writeFile(`${logPath}.lock`, JSON.stringify({ pid: 1, hostname: hostname(), ts: new Date(0).toISOString(), nonce: 'init' }));
    const w = await openAuditLog({ logPath, key, lockTimeoutMs: 2_000 });
    expect((await w.append(decision('j'))).seq).toBe(0);
    await w.close();
  });

  it('waits for a lock held by a live unrelated process, then fails closed naming the holder', async () => {
    const logPath = join(dir, 'audit.log');
    // The last holder's note, as large as anyone could make it: only its first 200 bytes are read.
    await fs.writeFile(`${logPath}.lock`, 'N'.repeat(1_000_000));
    // An unrelated process holds the kernel lock (flock(1) keeps it while `sleep` runs).
    const holder = spawn('/usr/bin/flock', ['--exclusive', `${logPath}.lock`, '/bin/sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      await waitFor(async () => (await fs.readFile('/proc/locks', 'utf8')).includes(`:${(await fs.stat(`${logPath}.lock`)).ino} `));
      // Opening a sound log reads its head without the lock; the append needs it.
      const w = await openAuditLog({ logPath, key, lockTimeoutMs: 500 });
      const e = await rejection(w.append(decision('j')));
      await w.close();
      expect(e.reason).toBe('audit-unavailable');
      expect(e.exitCode).toBe(8);
      expect(e.message).toMatch(/lock timeout/);
      expect(e.message).toMatch(new RegExp(`pid ${holder.pid ?? 'x'} \\(flock\\)`));
      expect(e.message).toMatch(/; its last note: N{200}$/);
      expect(await fs.readFile(logPath, 'utf8')).toBe('');
    } finally {
      // flock(1) and its sleep share the lock: end the whole group.
      process.kill(-(holder.pid ?? 0), 'SIGKILL');
    }
    // The kernel released it with the holder: the next writer gets it at once.
    await waitFor(async () => {
      const w = await openAuditLog({ logPath, key, lockTimeoutMs: 200 });
      const ok = await w.append(decision('j2')).then(() => true, () => false);
      await w.close();
      return ok;
    });
  });

  it('a log that looks damaged without the lock is judged again under it: caught mid-append, the open waits for that writer', async () => {
    const logPath = join(dir, 'audit.log');
    const first = await openAuditLog({ logPath, key });
    await first.append(decision('j1'));
    await first.close();
    const cp = checkpointPathFor(logPath);
    // A writer holds the lock between its record and its checkpoint: here, the checkpoint is
    // away for as long as an unrelated process holds the lock (flock(1) running a shell).
    await fs.rename(cp, `${cp}.away`);
    const holder = spawn('/usr/bin/flock', ['--exclusive', `${logPath}.lock`, '/bin/sh', '-c', 'sleep 0.5; mv "$1.away" "$1"', 'sh', cp], { stdio: 'ignore', detached: true });
    try {
      await waitFor(async () => (await fs.readFile('/proc/locks', 'utf8')).includes(`:${(await fs.stat(`${logPath}.lock`)).ino} `));
      const w = await openAuditLog({ logPath, key, lockTimeoutMs: 10_000 });
      expect((await w.append(decision('j2'))).seq).toBe(1);
      await w.close();
    } finally {
      try {
        process.kill(-(holder.pid ?? 0), 'SIGKILL');
      } catch {
        /* it has ended */
      }
    }
    expect(await verifyOk(logPath)).toBe(true);
    // Without a writer holding the lock the same damage is refused at once.
    await fs.rename(cp, `${cp}.gone`);
    const e = await rejection(openAuditLog({ logPath, key, lockTimeoutMs: 2_000 }));
    expect(e.reason).toBe('audit-invalid');
  });

  it('serializes concurrent appends within one process', async () => {
    const logPath = join(dir, 'audit.log');
    const w = await openAuditLog({ logPath, key });
    const seqs = await Promise.all(Array.from({ length: 20 }, (_, i) => w.append(decision(`p${i}`)).then((r) => r.seq)));
    await w.close();
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await verifyOk(logPath)).toBe(true);
  });
});

describe('fail closed when the log cannot be written', () => {
  it('a log path under a regular file fails with audit-unavailable (ENOTDIR), naming the path', async () => {
    // Tests run as root, which ignores permission bits, so chmod 500 proves nothing here.
    const file = join(dir, 'not-a-dir');
    await fs.writeFile(file, '');
    const logPath = join(file, 'audit.log');
    const e = await rejection(openAuditLog({ logPath, key }));
    expect(e.reason).toBe('audit-unavailable');
    expect(e.message).toMatch(/ENOTDIR|EEXIST/);
    expect(e.message).toContain(file);
    expect(e.hint).toBeTruthy();
  });

  it('a symlinked log is refused', async () => {
    const real = join(dir, 'real.log');
    await fs.writeFile(real, '');
    const link = join(dir, 'link.log');
    await fs.symlink(real, link);
    const e = await rejection(openAuditLog({ logPath: link, key }));
    expect(e.reason).toBe('audit-unavailable');
    expect(e.message).toMatch(/ELOOP/);
  });

  async function bwrapWorks(): Promise<boolean> {
    const r = await exec('/usr/bin/bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--', '/bin/true'], { timeoutMs: 10_000 });
    return r.exitCode === 0;
  }

  async function runAppenderIn(bwrapArgs: string[], logPath: string, keyPath: string): Promise<{ ok: boolean; reason?: string; message?: string }> {
    const r = await exec('/usr/bin/bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', ...bwrapArgs, '--', process.execPath, appender, logPath, keyPath, '1', 'j'], {
      timeoutMs: 30_000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (line === '') throw new Error(`appender printed nothing (exit ${String(r.exitCode)}): ${r.stderr}`);
    return JSON.parse(line) as { ok: boolean; reason?: string; message?: string };
  }

  it('a read-only file system (bwrap --ro-bind) fails with audit-unavailable (EROFS)', async (ctx) => {
    if (!(await bwrapWorks())) ctx.skip();
    const k = await generateKeyPair(join(dir, 'keys'));
    const logPath = join(dir, 'logs', 'audit.log');
    await buildLog(logPath, await loadSigningKey(k.privateKeyPath, { autoGenerate: false }), 1);
    const out = await runAppenderIn(['--ro-bind', dir, dir], logPath, k.privateKeyPath);
    expect(out).toMatchObject({ ok: false, reason: 'audit-unavailable' });
    expect(out.message).toMatch(/EROFS/);
    expect(out.message).toContain(logPath);
    // Nothing was added.
    expect(await verifyLogs({ logPaths: [logPath], trusted: trustedKeysOf([(await loadSigningKey(k.privateKeyPath, { autoGenerate: false })).publicKey]) })).toMatchObject({ ok: true, logs: [{ records: 2 }] });
  });

  it('a full disk (bwrap tmpfs of one page) fails with audit-unavailable (ENOSPC)', async (ctx) => {
    if (!(await bwrapWorks())) ctx.skip();
    const k = await generateKeyPair(join(dir, 'keys'));
    const full = join(dir, 'full');
    await fs.mkdir(full);
    const out = await runAppenderIn(['--size', '4096', '--tmpfs', full], join(full, 'audit.log'), k.privateKeyPath);
    expect(out).toMatchObject({ ok: false, reason: 'audit-unavailable' });
    expect(out.message).toMatch(/ENOSPC/);
  });
});

describe('rotateKey', () => {
  it('hands the log to the new key: old-key writers are refused, new-key writers continue', async () => {
    const logPath = join(dir, 'audit.log');
    const keyB = memoryKey('B');
    await buildLog(logPath, key, 1);
    const rot = await rotateKey({ logPath, oldKey: key, newKey: keyB, reason: 'scheduled' });
    expect(rot.seq).toBe(2);
    const rec = JSON.parse(rot.line) as { payload: { kid: string; event: Record<string, unknown> }; signatures: Array<{ keyid: string }> };
    expect(rec.payload.event).toMatchObject({ type: 'key-rotation', oldKid: key.keyId, newKid: keyB.keyId });
    expect(rec.signatures.map((s) => s.keyid)).toEqual([key.keyId, keyB.keyId]);
    const e = await rejection(openAuditLog({ logPath, key }));
    expect(e.reason).toBe('audit-invalid');
    const w = await openAuditLog({ logPath, key: keyB });
    expect((await w.append(decision('after'))).seq).toBe(3);
    await w.close();
    expect(await verifyOk(logPath, [key, keyB])).toBe(true);
    await expect(rotateKey({ logPath, oldKey: keyB, newKey: keyB })).rejects.toMatchObject({ reason: 'usage' });
  });
});
