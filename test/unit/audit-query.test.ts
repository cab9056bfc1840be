import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditStats, filterRecords, openAuditLog, percentile, readRecords, type ParsedRecord } from '../../src/audit/index.js';
import { ZtError } from '../../src/errors.js';
import { decision, makeTmpDir, memoryKey, removeDir, result } from '../helpers/audit-fixtures.js';

let dir: string;
let logPath: string;

beforeAll(async () => {
  dir = await makeTmpDir();
  logPath = join(dir, 'audit.log');
  const w = await openAuditLog({ logPath, key: memoryKey() });
  await w.append(decision('ok-1', { operation: 'thumb', principal: { user: 'bob' }, input: { sha256: 'AA'.repeat(32) } }));
  await w.append(result('ok-1', { operation: 'thumb', timings: { totalMs: 10 }, anomalies: ['cpu-spike'] }));
  await w.append(decision('ok-2'));
  await w.append(result('ok-2', { timings: { totalMs: 30 } }));
  await w.append(decision('ok-3'));
  await w.append(result('ok-3', { timings: { totalMs: 20 } }));
  await w.append(decision('fail-1'));
  await w.append(result('fail-1', { ok: false, timings: undefined, wallMs: 50 }));
  await w.append({ type: 'refusal', jobId: 'ref-1', verdict: 'refuse', principal: { user: 'mallory' }, violations: [{ rule: 'input.maxWidth' }, { rule: 'input.format' }] });
  await w.append({ type: 'refusal', jobId: 'ref-2', verdict: 'refuse', violations: [{ rule: 'input.format' }] });
  await w.append(decision('hung'));
  await w.close();
});
afterAll(async () => {
  await removeDir(dir);
});

async function collect(it: AsyncIterable<ParsedRecord>): Promise<ParsedRecord[]> {
  const out: ParsedRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('readRecords / filterRecords', () => {
  it('streams every record with line, seq, ts, kid, hash and event', async () => {
    const all = await collect(readRecords(logPath));
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(all[0]).toMatchObject({ line: 1, offset: 0, event: { type: 'decision', jobId: 'ok-1' } });
    expect(all[1]?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('filters by principal, verdict, operation, input sha256 (case-insensitive) and time', async () => {
    const by = async (f: Parameters<typeof filterRecords>[1]): Promise<string[]> =>
      (await collect(filterRecords(readRecords(logPath), f))).map((r) => `${r.event.type}:${String(r.event.jobId)}`);
    expect(await by({ principal: 'mallory' })).toEqual(['refusal:ref-1']);
    expect(await by({ verdict: 'refuse' })).toEqual(['refusal:ref-1', 'refusal:ref-2']);
    expect(await by({ operation: 'thumb' })).toEqual(['decision:ok-1', 'result:ok-1']);
    expect(await by({ inputSha256: 'aa'.repeat(32) })).toEqual(['decision:ok-1']);
    expect(await by({ since: '2999-01-01' })).toEqual([]);
    expect(await by({ until: '2000-01-01' })).toEqual([]);
    expect((await by({ since: new Date(Date.now() - 3_600_000) })).length).toBe(11);
    await expect(by({ since: 'yesterday-ish' })).rejects.toMatchObject({ reason: 'usage' });
  });

  it('names the file and line of an unreadable record (audit-invalid)', async () => {
    const bad = join(dir, 'bad.log');
    await fs.writeFile(bad, Buffer.concat([await fs.readFile(logPath), Buffer.from('oops\n')]));
    const e = await collect(readRecords(bad)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ZtError);
    expect((e as ZtError).reason).toBe('audit-invalid');
    expect((e as ZtError).message).toContain(`${bad}:12`);
  });
});

describe('auditStats', () => {
  it('counts jobs by outcome, refusals by rule, anomalies and timing percentiles per operation', async () => {
    const s = await auditStats(readRecords(logPath));
    expect(s).toEqual({
      records: 11,
      jobs: 7,
      ok: 3,
      refused: 2,
      failed: 1,
      unfinished: 1,
      unverified: 0,
      refusalsByRule: { 'input.format': 2, 'input.maxWidth': 1 },
      anomalies: 1,
      timingsByOperation: {
        'h264-mp4': { count: 3, p50Ms: 30, p95Ms: 50 },
        thumb: { count: 1, p50Ms: 10, p95Ms: 10 },
      },
    });
  });

  it('percentile is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 95)).toBe(7);
  });
});
