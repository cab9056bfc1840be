/**
 * Objects built from untrusted keys and lines read from untrusted files: `__proto__`,
 * `constructor` and `prototype` are keys like any other (counted, reported, never a
 * prototype), and the audit line reader and record decoder are bounded and total.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectClaims } from '../../src/identity/token.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import { metadataSize } from '../../src/inspect/rules.js';
import { mergePolicy } from '../../src/policy/load.js';
import { canonicalize } from '../../src/audit/canonical.js';
import { auditStats, type ParsedRecord } from '../../src/audit/query.js';
import { readLines, type RawLine } from '../../src/audit/lines.js';
import { decodeRecord, nestingExceeds, MAX_RECORD_DEPTH } from '../../src/audit/record.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-hostile-keys-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('keys named like Object.prototype members', () => {
  it('token claims: a __proto__ claim is a claim, and the claims still canonicalize for the audit record', () => {
    const payload = JSON.parse('{"sub":"a","__proto__":["x","y"],"constructor":"c","prototype":1}') as Record<string, unknown>;
    const claims = selectClaims(payload);
    expect(Object.keys(claims)).toEqual(['sub', '__proto__', 'constructor', 'prototype']);
    expect(Object.getPrototypeOf(claims)).toBeNull();
    expect(canonicalize(claims)).toBe('{"__proto__":["x","y"],"constructor":"c","prototype":1,"sub":"a"}');
  });

  it('probe tags: __proto__ and constructor count against the metadata limits like any key', () => {
    const big = 'p'.repeat(100_000);
    const p = parseProbeJson(JSON.stringify({ format: { format_name: 'matroska,webm', tags: JSON.parse(`{"__proto__":"${big}","constructor":"x","foo":"y"}`) as unknown } }));
    expect(metadataSize(p)).toEqual({ entries: 3, bytes: 9 + big.length + 11 + 1 + 3 + 1 });
  });

  it('policy merge: a __proto__ key stays a key (the schema reports it), never the merged policy\'s prototype', () => {
    const merged = mergePolicy({ stage: 'advanced', input: { maxWidth: 10 } }, JSON.parse('{"__proto__":{"allowLoosening":true},"input":{"constructor":1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(merged['allowLoosening']).toBeUndefined();
    expect(Object.keys(merged)).toEqual(['stage', 'input', '__proto__']);
    expect(Object.keys(merged['input'] as object)).toEqual(['maxWidth', 'constructor']);
  });

  it('audit stats: a rule or an operation named __proto__ or constructor is counted', async () => {
    const rec = (event: Record<string, unknown>, seq: number): ParsedRecord => ({ line: seq + 1, offset: 0, seq, ts: '2030-01-01T00:00:00Z', kid: 'k', hash: 'h', event: event as ParsedRecord['event'] });
    const stats = await auditStats([
      rec({ type: 'refusal', jobId: 'a', violations: [{ rule: '__proto__' }, { rule: 'constructor' }] }, 0),
      rec({ type: 'result', jobId: 'b', ok: true, operation: '__proto__', timings: { totalMs: 5 } }, 1),
    ]);
    expect(Object.entries(stats.refusalsByRule)).toEqual([['__proto__', 1], ['constructor', 1]]);
    expect(Object.keys(stats.timingsByOperation)).toEqual(['__proto__']);
  });
});

describe('the audit line reader', () => {
  async function lines(content: Buffer, maxLineBytes?: number): Promise<RawLine[]> {
    const file = path.join(dir, `l-${Math.random()}.log`);
    await writeFile(file, content);
    const out: RawLine[] = [];
    for await (const l of readLines(file, maxLineBytes === undefined ? {} : { maxLineBytes })) out.push(l);
    return out;
  }

  it('yields lines across its 1 MiB chunks with their offsets, and an unterminated tail', async () => {
    const a = Buffer.alloc((1 << 20) + 5, 0x61);
    const got = await lines(Buffer.concat([a, Buffer.from('\nbc\n\nd')]));
    expect(got.map((l) => [l.lineNo, l.offset, l.length, l.bytes.length, l.complete])).toEqual([
      [1, 0, a.length, a.length, true],
      [2, a.length + 1, 2, 2, true],
      [3, a.length + 4, 0, 0, true],
      [4, a.length + 5, 1, 1, false],
    ]);
  });

  it('keeps at most maxLineBytes + 1 bytes of a longer line and reports its true length', async () => {
    const got = await lines(Buffer.from(`${'x'.repeat(3 << 20)}\nok\n`), 1000);
    expect(got.map((l) => [l.length, l.bytes.length, l.offset])).toEqual([[3 << 20, 1001, 0], [2, 2, (3 << 20) + 1]]);
    expect(decodeRecord(got[0]!.bytes)).toMatchObject({ ok: false, fault: 'malformed' });
  });
});

describe('the record decoder is total', () => {
  it('refuses nesting deeper than the limit before parsing; brackets in strings do not count', () => {
    const deep = `{"payload":{"event":{"d":${'['.repeat(5000)}${']'.repeat(5000)}}}}`;
    expect(decodeRecord(Buffer.from(deep))).toMatchObject({ ok: false, fault: 'malformed', message: expect.stringMatching(new RegExp(`more than ${MAX_RECORD_DEPTH} levels`)) });
    expect(nestingExceeds(Buffer.from(`{"a":"${'['.repeat(500)}\\"["}`), 3)).toBe(false);
    expect(nestingExceeds(Buffer.from('[[[[[]]]]]'), 4)).toBe(true);
  });

  it('canonicalisation refuses data nested past its depth with an error, not a stack overflow', () => {
    let v: unknown = 1;
    for (let i = 0; i < 10_000; i++) v = [v];
    expect(() => canonicalize(v)).toThrow(/nests deeper than 100 levels/);
  });
});
