import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords, verifyLogs } from '../../src/audit/index.js';
import { generateKeyPair, loadTrustedKeys } from '../../src/keys/index.js';
import { exec } from '../../src/util/exec.js';
import { bundleAppender, makeTmpDir, removeDir } from '../helpers/audit-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTmpDir();
});
afterAll(async () => {
  await removeDir(dir);
});

describe('parallel appenders in separate OS processes', () => {
  it('16 processes appending at once leave one intact chain holding every record', async () => {
    const appender = await bundleAppender(dir);
    const k = await generateKeyPair(join(dir, 'keys'));
    const logPath = join(dir, 'logs', 'audit.log');
    const PROCS = 16;
    const JOBS = 5; // a decision and a result each
    const runs = await Promise.all(
      Array.from({ length: PROCS }, (_, p) => exec(process.execPath, [appender, logPath, k.privateKeyPath, String(JOBS), `p${p}`], { timeoutMs: 90_000 })),
    );
    const seqs: number[] = [];
    for (const r of runs) {
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      const out = JSON.parse(r.stdout.trim()) as { ok: boolean; seqs: number[] };
      expect(out.ok).toBe(true);
      seqs.push(...out.seqs);
    }
    const total = PROCS * JOBS * 2;
    expect(new Set(seqs).size).toBe(total);
    expect(Math.max(...seqs)).toBe(total - 1);
    const trusted = await loadTrustedKeys({ keyFiles: [k.publicKeyPath] });
    const report = await verifyLogs({ logPaths: [logPath], trusted });
    expect(report.logs[0]).toMatchObject({ ok: true, records: total, checkpoint: 'ok', unfinishedJobs: [] });
    const jobIds = new Set<string>();
    for await (const r of readRecords(logPath)) if (r.event.jobId !== undefined) jobIds.add(r.event.jobId);
    expect(jobIds.size).toBe(PROCS * JOBS);
    // The lock is a kernel flock: nobody holds it once the appenders are gone, and its file stays.
    expect((await fs.readFile('/proc/locks', 'utf8')).includes(`:${(await fs.stat(`${logPath}.lock`)).ino} `)).toBe(false);
  });
});
