import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  canonicalize,
  checkpointPathFor,
  encodeRecord,
  lineHash,
  openAuditLog,
  readRecords,
  rotateKey,
  verifyLogs,
  GENESIS_PREV,
  RECORD_PAYLOAD_TYPE,
  type AuditEvent,
  type FaultKind,
  type LogReport,
} from '../../src/audit/index.js';
import { trustedKeysOf, type SigningKey, type TrustedKeys } from '../../src/keys/index.js';
import { buildLog, decision, makeTmpDir, memoryKey, removeDir, result, splitLines } from '../helpers/audit-fixtures.js';

let dir: string;
let keyA: SigningKey;
let trusted: TrustedKeys;
let logPath: string;
let original: Buffer;
let originalLines: Buffer[];
let checkpoint: Buffer;
let scratch: string;

beforeAll(async () => {
  dir = await makeTmpDir();
  keyA = memoryKey('A');
  trusted = trustedKeysOf([keyA.publicKey]);
  logPath = join(dir, 'audit.log');
  // 8 records: 4 jobs, decision + result each. Small events keep the mutation
  // test's case count (one per byte) down; the fields do not matter to it.
  const w = await openAuditLog({ logPath, key: keyA });
  for (let j = 0; j < 4; j++) {
    await w.append({ type: 'decision', jobId: `job-${j}` });
    await w.append({ type: 'result', jobId: `job-${j}`, ok: true });
  }
  await w.close();
  original = await fs.readFile(logPath);
  originalLines = splitLines(original);
  checkpoint = await fs.readFile(checkpointPathFor(logPath));
  scratch = join(dir, 'mutant.log');
});
afterAll(async () => {
  await removeDir(dir);
});

/** Scratch logs whose checkpoint file currently holds the original checkpoint. */
const slotCheckpoints = new Set<string>();

/** Verify `bytes` as a log, with the original checkpoint beside it (or none). */
async function verifyBytes(bytes: Buffer, opts: { withCheckpoint?: boolean; trust?: TrustedKeys; slot?: number } = {}): Promise<LogReport> {
  const path = opts.slot === undefined ? scratch : `${scratch}.${opts.slot}`;
  await fs.writeFile(path, bytes);
  const cpPath = checkpointPathFor(path);
  if (opts.withCheckpoint ?? true) {
    if (!slotCheckpoints.has(path)) await fs.writeFile(cpPath, checkpoint);
    slotCheckpoints.add(path);
  } else {
    await fs.rm(cpPath, { force: true });
    slotCheckpoints.delete(path);
  }
  // Records are checked alone when the test made the log without its checkpoint.
  const report = await verifyLogs({ logPaths: [path], trusted: opts.trust ?? trusted, requireCheckpoint: opts.withCheckpoint ?? true });
  const log = report.logs[0];
  if (log === undefined) throw new Error('no log report');
  expect(report.ok).toBe(log.ok);
  return log;
}

/** Run `check` over `cases` with a few scratch files in flight at once. */
async function eachCase<T>(cases: readonly T[], check: (c: T, slot: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: 4 }, async (_, slot) => {
    while (next < cases.length) {
      const c = cases[next++] as T;
      await check(c, slot);
    }
  });
  await Promise.all(lanes);
}

function lineOfOffset(offset: number): number {
  let end = 0;
  for (let i = 0; i < originalLines.length; i++) {
    end += (originalLines[i] as Buffer).length;
    if (offset < end) return i + 1;
  }
  return originalLines.length;
}

function forge(key: SigningKey, seq: number, prev: string, event: AuditEvent, signers: SigningKey[] = [key]): Buffer {
  return encodeRecord({ v: 1, seq, prev, ts: new Date().toISOString(), kid: key.keyId, event }, signers).bytes;
}

const hashOf = (line: Buffer): string => lineHash(line.subarray(0, line.length - 1));

describe('verifyLogs on an intact log', () => {
  it('passes with records, head hash and checkpoint', async () => {
    const r = await verifyLogs({ logPaths: [logPath], trusted });
    expect(r.ok).toBe(true);
    const log = r.logs[0] as LogReport;
    expect(log).toMatchObject({ records: 8, ok: true, checkpoint: 'ok', unfinishedJobs: [] });
    expect(log.headHash).toBe(hashOf(originalLines[7] as Buffer));
    expect(log.firstBad).toBeUndefined();
  });

  it('an empty log is valid', async () => {
    const log = await verifyBytes(Buffer.alloc(0), { withCheckpoint: false });
    expect(log).toMatchObject({ ok: true, records: 0, headHash: GENESIS_PREV, checkpoint: 'absent' });
  });
});

describe('mutation test (in the spirit of journald test-journal-verify)', () => {
  // Every byte of the file with one bit flipped: bit (offset mod 8), so all 8 bit
  // positions are exercised across the file; plus a second bit, (offset + 4) mod 8,
  // for every byte of the LAST record, which no later record hash-links to.
  // (All 8 bits of every byte is ~8x the cases for little extra coverage.)
  it('every byte with one bit flipped fails at the flipped line, never passes', async () => {
    const lastStart = original.length - (originalLines[7] as Buffer).length;
    const cases: Array<[number, number]> = [];
    for (let off = 0; off < original.length; off++) {
      cases.push([off, off % 8]);
      if (off >= lastStart) cases.push([off, (off + 4) % 8]);
    }
    await eachCase(cases, async ([off, bit], slot) => {
      const m = Buffer.from(original);
      m[off] = (m[off] as number) ^ (1 << bit);
      const log = await verifyBytes(m, { slot });
      const where = `byte ${off} bit ${bit}: ${JSON.stringify(log.firstBad)}`;
      expect(log.ok, where).toBe(false);
      expect(log.firstBad?.line, where).toBe(lineOfOffset(off));
      expect(['modified', 'malformed', 'downgraded', 'unknown-key', 'incomplete-last-line'], where).toContain(log.firstBad?.fault);
    });
    expect(cases.length).toBeGreaterThan(original.length);
  });

  it('every deleted line is detected (the last one through the checkpoint)', async () => {
    for (let i = 0; i < originalLines.length; i++) {
      const m = Buffer.concat(originalLines.filter((_, j) => j !== i));
      const log = await verifyBytes(m);
      expect(log.ok, `line ${i + 1}`).toBe(false);
      if (i < originalLines.length - 1) {
        expect(log.firstBad).toMatchObject({ line: i + 1, seq: i + 1, fault: 'deleted' });
        // Without the checkpoint too.
        expect((await verifyBytes(m, { withCheckpoint: false })).firstBad?.fault).toBe('deleted');
      } else {
        expect(log.firstBad).toMatchObject({ line: 8, seq: 7, fault: 'truncated' });
        expect(log.checkpoint).toBe('mismatch');
      }
    }
  });

  it('every swapped adjacent pair is reported as reordered at the first swapped line', async () => {
    for (let i = 0; i + 1 < originalLines.length; i++) {
      const lines = [...originalLines];
      [lines[i], lines[i + 1]] = [lines[i + 1] as Buffer, lines[i] as Buffer];
      const log = await verifyBytes(Buffer.concat(lines));
      expect(log.ok).toBe(false);
      expect(log.firstBad, `swap ${i + 1}/${i + 2}`).toMatchObject({ line: i + 1, fault: 'reordered' });
    }
  });

  // Every line boundary, and inside every line its first two bytes, every 8th byte
  // and the byte before its "\n" (every single offset is ~7x the cases).
  it('truncation at and inside every line fails: at a boundary = truncated, inside = incomplete-last-line', async () => {
    const boundaries = new Set<number>();
    const offsets: number[] = [];
    let start = 0;
    for (const l of originalLines) {
      boundaries.add(start);
      for (let i = 0; i < l.length; i++) if (i < 2 || i % 8 === 0 || i === l.length - 1) offsets.push(start + i);
      start += l.length;
    }
    await eachCase(offsets, async (t, slot) => {
      const log = await verifyBytes(original.subarray(0, t), { slot });
      expect(log.ok, `truncated to ${t}`).toBe(false);
      expect(log.firstBad?.fault, `truncated to ${t}`).toBe(boundaries.has(t) ? 'truncated' : 'incomplete-last-line');
      expect(log.firstBad?.line).toBe(lineOfOffset(t));
    });
  });

  it('a forged record signed by an untrusted key is unknown-key', async () => {
    const attacker = memoryKey('attacker');
    const forged = forge(attacker, 3, hashOf(originalLines[2] as Buffer), decision('evil'));
    const lines = [...originalLines.slice(0, 3), forged, ...originalLines.slice(3)];
    const log = await verifyBytes(Buffer.concat(lines));
    expect(log.firstBad).toMatchObject({ line: 4, seq: 3, fault: 'unknown-key' });
  });

  it('a log re-signed entirely by an attacker key (with its own checkpoint) is rejected', async () => {
    const attacker = memoryKey('attacker');
    const alt = join(dir, 'resigned.log');
    await buildLog(alt, attacker, 4);
    const r = await verifyLogs({ logPaths: [alt], trusted });
    expect(r.ok).toBe(false);
    expect(r.logs[0]?.firstBad).toMatchObject({ line: 1, seq: 0, fault: 'unknown-key' });
    expect(r.logs[0]?.checkpoint).toBe('mismatch');
  });

  it('a replayed copy of a record is inserted; a different record for an existing seq is forked', async () => {
    const copy = [...originalLines.slice(0, 5), originalLines[2] as Buffer, ...originalLines.slice(5)];
    expect((await verifyBytes(Buffer.concat(copy))).firstBad).toMatchObject({ line: 6, seq: 2, fault: 'inserted' });
    const other = forge(keyA, 2, hashOf(originalLines[1] as Buffer), decision('other'));
    const fork = [...originalLines.slice(0, 5), other, ...originalLines.slice(5)];
    expect((await verifyBytes(Buffer.concat(fork))).firstBad).toMatchObject({ line: 6, seq: 2, fault: 'forked' });
    const wrongPrev = forge(keyA, 5, hashOf(originalLines[2] as Buffer), decision('other'));
    const fork2 = [...originalLines.slice(0, 5), wrongPrev];
    expect((await verifyBytes(Buffer.concat(fork2), { withCheckpoint: false })).firstBad).toMatchObject({ line: 6, seq: 5, fault: 'forked' });
  });

  it('an unsigned record or one with another algorithm is downgraded', async () => {
    const rec = JSON.parse((originalLines[3] as Buffer).toString('utf8')) as { payload: unknown; signatures: Array<Record<string, string>> };
    const unsigned = Buffer.from(`${canonicalize({ payloadType: RECORD_PAYLOAD_TYPE, payload: rec.payload, signatures: [] })}\n`);
    const otherAlg = Buffer.from(`${canonicalize({ ...rec, payloadType: RECORD_PAYLOAD_TYPE, signatures: [{ ...rec.signatures[0], alg: 'hmac-sha256' }] })}\n`);
    for (const bad of [unsigned, otherAlg]) {
      const lines = [...originalLines];
      lines[3] = bad;
      expect((await verifyBytes(Buffer.concat(lines))).firstBad).toMatchObject({ line: 4, fault: 'downgraded' });
    }
  });

  it('a re-encoded (non-canonical) but otherwise identical record is modified', async () => {
    const lines = [...originalLines];
    const parsed = JSON.parse((lines[2] as Buffer).toString('utf8')) as unknown;
    lines[2] = Buffer.from(`${JSON.stringify(parsed, null, 1).replace(/\n/g, '')}\n`);
    expect((await verifyBytes(Buffer.concat(lines))).firstBad).toMatchObject({ line: 3, fault: 'modified' });
  });

  it('garbage lines are malformed', async () => {
    const lines = [...originalLines];
    lines[4] = Buffer.from('hello\n');
    expect((await verifyBytes(Buffer.concat(lines))).firstBad).toMatchObject({ line: 5, fault: 'malformed' });
  });
});

describe('jobs, checkpoints and keys', () => {
  it('a decision without a result is unfinished, not a failure', async () => {
    const p = join(dir, 'unfinished.log');
    await buildLog(p, keyA, 2);
    const w = await openAuditLog({ logPath: p, key: keyA });
    await w.append(decision('crashed'));
    await w.append({ type: 'decision', jobId: 'refused' });
    await w.append({ type: 'refusal', jobId: 'refused' });
    await w.close();
    const r = await verifyLogs({ logPaths: [p], trusted });
    expect(r.ok).toBe(true);
    expect(r.logs[0]?.unfinishedJobs).toEqual(['crashed']);
  });

  it('a truncated tail (last record removed, checkpoint present) is truncated', async () => {
    const log = await verifyBytes(Buffer.concat(originalLines.slice(0, 7)));
    expect(log).toMatchObject({ ok: false, records: 7, checkpoint: 'mismatch', firstBad: { line: 8, seq: 7, fault: 'truncated' } });
  });

  it('a tampered checkpoint is a mismatch; an absent one is reported', async () => {
    const cp = JSON.parse(checkpoint.toString('utf8')) as { payload: { size: number } };
    cp.payload.size = 9;
    await fs.writeFile(scratch, original);
    await fs.writeFile(checkpointPathFor(scratch), `${canonicalize(cp)}\n`);
    slotCheckpoints.delete(scratch);
    const r = await verifyLogs({ logPaths: [scratch], trusted });
    expect(r.ok).toBe(false);
    expect(r.logs[0]?.checkpoint).toBe('mismatch');
    expect(r.logs[0]?.checkpointMessage).toMatch(/invalid signature/);
    const absent = await verifyBytes(original, { withCheckpoint: false });
    expect(absent).toMatchObject({ ok: true, checkpoint: 'absent' });
    // Without --no-checkpoint, a non-empty log without its checkpoint fails: its end may be gone.
    const required = await verifyLogs({ logPaths: [scratch], trusted });
    expect(required.ok).toBe(false);
    expect(required.logs[0]).toMatchObject({ ok: false, checkpoint: 'absent' });
    expect(required.logs[0]?.checkpointMessage).toMatch(/no checkpoint .*--no-checkpoint/);
  });

  it('a witnessed (older) checkpoint passes a grown log and catches a rewritten one', async () => {
    const p = join(dir, 'witnessed.log');
    await buildLog(p, keyA, 2);
    const witness = join(dir, 'witness.checkpoint');
    await fs.copyFile(checkpointPathFor(p), witness);
    const w = await openAuditLog({ logPath: p, key: keyA });
    await w.append(decision('later'));
    await w.append(result('later'));
    await w.close();
    expect((await verifyLogs({ logPaths: [p], trusted, checkpointPath: witness })).ok).toBe(true);
    // The key holder rewrites history from scratch: internally valid, but not what was witnessed.
    await fs.rm(p);
    await fs.rm(checkpointPathFor(p));
    await buildLog(p, keyA, 3, 'rewritten');
    const r = await verifyLogs({ logPaths: [p], trusted, checkpointPath: witness });
    expect(r.ok).toBe(false);
    expect(r.logs[0]?.firstBad?.fault).toBe('forked');
    expect(r.logs[0]?.checkpoint).toBe('mismatch');
  });

  it('verifies several logs with one trust set (a keyring)', async () => {
    const keyB = memoryKey('B');
    const p = join(dir, 'host-b.log');
    await buildLog(p, keyB, 1);
    const both = trustedKeysOf([keyA.publicKey, keyB.publicKey]);
    const r = await verifyLogs({ logPaths: [logPath, p], trusted: both });
    expect(r.ok).toBe(true);
    expect(r.logs.map((l) => l.records)).toEqual([8, 2]);
    const onlyA = await verifyLogs({ logPaths: [logPath, p], trusted });
    expect(onlyA.ok).toBe(false);
    expect(onlyA.logs.map((l) => l.ok)).toEqual([true, false]);
  });

  it('key rotation: records after it verify with the new key; the old key after it is key-out-of-range', async () => {
    const p = join(dir, 'rotated.log');
    const keyB = memoryKey('B');
    const keyC = memoryKey('C'); // trusted, but never this log's key
    const all = trustedKeysOf([keyA.publicKey, keyB.publicKey, keyC.publicKey]);
    await buildLog(p, keyA, 2); // seq 0..3
    const rot = await rotateKey({ logPath: p, oldKey: keyA, newKey: keyB }); // seq 4
    expect(rot.seq).toBe(4);
    await buildLog(p, keyB, 1, 'after'); // seq 5..6
    expect((await verifyLogs({ logPaths: [p], trusted: all })).ok).toBe(true);
    // The new key must itself be trusted: the rotation record cannot vouch for it.
    expect((await verifyLogs({ logPaths: [p], trusted: trustedKeysOf([keyA.publicKey]) })).logs[0]?.firstBad).toMatchObject({ line: 5, fault: 'unknown-key' });
    // Old key signs a record after the rotation (CVE-2023-31439-style re-sealing): refused.
    const lines = splitLines(await fs.readFile(p));
    const last = lines[lines.length - 1] as Buffer;
    const stale = forge(keyA, 7, hashOf(last), decision('by-old-key'));
    await fs.writeFile(scratch, Buffer.concat([...lines, stale]));
    await fs.rm(checkpointPathFor(scratch), { force: true });
    slotCheckpoints.delete(scratch);
    expect((await verifyLogs({ logPaths: [scratch], trusted: all })).logs[0]?.firstBad).toMatchObject({ line: 8, seq: 7, fault: 'key-out-of-range' });
    // Another trusted key (another host's) is out of range for this log too.
    const foreign = forge(keyC, 7, hashOf(last), decision('by-other-host'));
    await fs.writeFile(scratch, Buffer.concat([...lines, foreign]));
    expect((await verifyLogs({ logPaths: [scratch], trusted: all })).logs[0]?.firstBad).toMatchObject({ line: 8, fault: 'key-out-of-range' });
    // The new key signing before the rotation is out of range as well.
    const early = forge(keyB, 2, hashOf(lines[1] as Buffer), decision('too-early'));
    await fs.writeFile(scratch, Buffer.concat([...lines.slice(0, 2), early]));
    expect((await verifyLogs({ logPaths: [scratch], trusted: all })).logs[0]?.firstBad).toMatchObject({ line: 3, fault: 'key-out-of-range' });
    // A rotation record missing the new key's signature is modified.
    const rotLine = JSON.parse((lines[4] as Buffer).toString('utf8')) as { signatures: unknown[] };
    rotLine.signatures = rotLine.signatures.slice(0, 1);
    await fs.writeFile(scratch, Buffer.concat([...lines.slice(0, 4), Buffer.from(`${canonicalize(rotLine)}\n`)]));
    expect((await verifyLogs({ logPaths: [scratch], trusted: all })).logs[0]?.firstBad).toMatchObject({ line: 5, fault: 'modified' });
  });

  it('a record whose timestamp goes back beyond the tolerance is refused', async () => {
    const l0 = forge(keyA, 0, GENESIS_PREV, decision('t'));
    const back = encodeRecord({ v: 1, seq: 1, prev: hashOf(l0), ts: '2001-01-01T00:00:00.000Z', kid: keyA.keyId, event: result('t') }, [keyA]).bytes;
    await fs.writeFile(scratch, Buffer.concat([l0, back]));
    await fs.rm(checkpointPathFor(scratch), { force: true });
    slotCheckpoints.delete(scratch);
    const r = await verifyLogs({ logPaths: [scratch], trusted });
    expect(r.logs[0]?.firstBad).toMatchObject({ line: 2, fault: 'malformed' });
    expect(r.logs[0]?.firstBad?.message).toMatch(/timestamp/);
  });

  it('records with integer-like keys and "\\ud800" text take the exact canonical path', async () => {
    const l0 = forge(keyA, 0, GENESIS_PREV, { type: 'decision', jobId: 'k', streams: { '10': 'a', '9': 'b' }, note: '\\ud800 literally' });
    await fs.writeFile(scratch, l0);
    await fs.rm(checkpointPathFor(scratch), { force: true });
    slotCheckpoints.delete(scratch);
    expect((await verifyLogs({ logPaths: [scratch], trusted, requireCheckpoint: false })).ok).toBe(true);
  });
});

describe('parallel signature verification', () => {
  it('worker threads and the inline path agree, on good and bad logs', async () => {
    const p = join(dir, 'big.log');
    const parts: Buffer[] = [];
    let prev = GENESIS_PREV;
    for (let seq = 0; seq < 1200; seq++) {
      const jobId = `j${seq >> 1}`;
      const rec = encodeRecord({ v: 1, seq, prev, ts: new Date().toISOString(), kid: keyA.keyId, event: seq % 2 === 0 ? decision(jobId) : result(jobId) }, [keyA]);
      parts.push(rec.bytes);
      prev = rec.hash;
    }
    const good = Buffer.concat(parts);
    await fs.writeFile(p, good);
    for (const workers of [0, 2]) {
      const r = await verifyLogs({ logPaths: [p], trusted, workers, requireCheckpoint: false });
      expect(r.logs[0]).toMatchObject({ ok: true, records: 1200, headHash: prev });
    }
    // Flip one bit inside the signature of record 1000 (line 1001).
    const start = parts.slice(0, 1000).reduce((n, b) => n + b.length, 0);
    const sigAt = start + (parts[1000] as Buffer).indexOf('"sig":"') + 20;
    const bad = Buffer.from(good);
    bad[sigAt] = (bad[sigAt] as number) ^ 0x01;
    await fs.writeFile(p, bad);
    for (const workers of [0, 2]) {
      const r = await verifyLogs({ logPaths: [p], trusted, workers, requireCheckpoint: false });
      expect(r.logs[0]?.firstBad).toMatchObject({ line: 1001, seq: 1000, fault: 'modified' as FaultKind });
      expect(r.logs[0]?.records).toBe(1000);
      expect(r.logs[0]?.headHash).toBe(hashOf(parts[999] as Buffer));
    }
  });
});

describe('a log read while a writer appends', () => {
  // The writer's one write(2) can be seen half-copied by a reader that takes no lock. What the
  // reader sees then is staged here byte by byte: the log ends mid-record, and the rest of the
  // record arrives (or does not) between the reading and verify's second look at the file's size.
  async function staged(name: string): Promise<{ path: string; full: Buffer; torn: Buffer }> {
    const path = join(dir, `${name}.log`);
    const w = await openAuditLog({ logPath: path, key: keyA });
    for (let j = 0; j < 3; j++) await w.append({ type: 'decision', jobId: `${name}-${j}` });
    const sealed = await fs.readFile(checkpointPathFor(path));
    await w.append({ type: 'decision', jobId: `${name}-3` });
    await w.close();
    const full = await fs.readFile(path);
    const last = splitLines(full).at(-1) as Buffer;
    const torn = full.subarray(0, full.length - Math.floor(last.length / 2));
    await fs.writeFile(path, torn);
    await fs.writeFile(checkpointPathFor(path), sealed); // the writer seals after the record: 3 records
    return { path, full, torn };
  }

  /** Run `during` when verify looks at the log's size for the `nth` time. */
  async function verifyWith(path: string, nth: number, during: (call: number) => Promise<void>): Promise<LogReport> {
    const real = fs.stat.bind(fs);
    let calls = 0;
    const spy = vi.spyOn(fs, 'stat').mockImplementation(async (p, o) => {
      if (p === path && ++calls >= nth) await during(calls);
      return real(p, o);
    });
    try {
      const report = await verifyLogs({ logPaths: [path], trusted });
      return report.logs[0] as LogReport;
    } finally {
      spy.mockRestore();
    }
  }

  it('a record caught half-written is a record in flight once the log has grown past it: the log is read again and is intact', async () => {
    const { path, full } = await staged('in-flight');
    // The first look is verify's start; the second comes after a reading that ended mid-record.
    const log = await verifyWith(path, 2, async (call) => {
      if (call === 2) await fs.writeFile(path, full);
    });
    expect(log.firstBad, JSON.stringify(log.firstBad)).toBeUndefined();
    expect(log.ok).toBe(true);
    expect(log.records).toBe(4);
  });

  it('a half-written record that stays so (a crash mid-write, or a cut) is still incomplete-last-line', async () => {
    const { path } = await staged('torn');
    const log = await verifyWith(path, Number.POSITIVE_INFINITY, async () => {});
    expect(log.ok).toBe(false);
    expect(log.firstBad?.fault).toBe('incomplete-last-line');
    expect(log.firstBad?.line).toBe(4);
  });

  it('a record that completes only after the pause (a writer descheduled mid-copy) is seen at the second look', async () => {
    const { path, full } = await staged('late');
    // Call 2 is the first look (no growth yet); call 3 the second, after the pause.
    const log = await verifyWith(path, 3, async (call) => {
      if (call === 3) await fs.writeFile(path, full);
    });
    expect(log.ok, JSON.stringify(log.firstBad)).toBe(true);
    expect(log.records).toBe(4);
  });

  it('a write the writer cut off again (the log back at the line start) is read again: 3 records, intact', async () => {
    const { path, full } = await staged('retracted');
    const start = full.length - (splitLines(full).at(-1) as Buffer).length;
    const log = await verifyWith(path, 2, async (call) => {
      if (call === 2) await fs.truncate(path, start);
    });
    expect(log.ok, JSON.stringify(log.firstBad)).toBe(true);
    expect(log.records).toBe(3);
  });

  it('show/stats read a record in flight again from its start (all 4 records); a torn last line that stays, or keeps growing without its newline, is audit-invalid', async () => {
    const collect = async (path: string): Promise<string[]> => {
      const ids: string[] = [];
      for await (const r of readRecords(path)) ids.push(String(r.event.jobId));
      return ids;
    };
    const invalid = { reason: 'audit-invalid', message: expect.stringMatching(/:4: not a readable audit record \(incomplete last line\)/) };
    const real = fs.stat.bind(fs);
    const flight = await staged('show-in-flight');
    const growing = await staged('show-growing');
    let grown = growing.torn;
    const spy = vi.spyOn(fs, 'stat').mockImplementation(async (p, o) => {
      if (p === flight.path) await fs.writeFile(flight.path, flight.full);
      if (p === growing.path) {
        grown = Buffer.concat([grown, Buffer.from('x')]);
        await fs.writeFile(growing.path, grown);
      }
      return real(p, o);
    });
    try {
      expect(await collect(flight.path)).toEqual(['show-in-flight-0', 'show-in-flight-1', 'show-in-flight-2', 'show-in-flight-3']);
      await expect(collect(growing.path)).rejects.toMatchObject(invalid);
    } finally {
      spy.mockRestore();
    }
    const torn = await staged('show-torn');
    await expect(collect(torn.path)).rejects.toMatchObject(invalid);
  });

  it('a log that keeps growing but never completes its last line is reported after a bounded number of readings', async () => {
    const { path, torn } = await staged('growing');
    let grown = torn;
    let readings = 0;
    const log = await verifyWith(path, 2, async () => {
      readings++;
      grown = Buffer.concat([grown, Buffer.from('x')]);
      await fs.writeFile(path, grown);
    });
    expect(log.ok).toBe(false);
    expect(log.firstBad?.fault).toBe('incomplete-last-line');
    // Four readings (the first and three again), each but the first after a look that saw
    // growth: the hook runs at the looks and at the readings' starts after the first, 6 times.
    expect(readings).toBe(6);
  });
});
