/**
 * Symlinks, FIFOs, device nodes and directories as input. They are refused on lstat, before
 * anything opens them: a FIFO is never opened (so the job cannot hang on it and no reader holds
 * it), a symlink to the canary is not followed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { HOSTILE_CASES, type HostileCase } from '../helpers/hostile-samples.js';
import { buildAll, checkMany, expectAudited, expectCanaryUntouched, expectRefused, makeHarness, readAudit, runRefused, type FileOutcome, type Harness } from '../helpers/hostile-harness.js';

const CASES: readonly HostileCase[] = HOSTILE_CASES.filter((c) => c.threat === 'special-file');

let h: Harness;
let files: Map<string, string>;
const checked = new Map<string, FileOutcome>();
const runs = new Map<string, FileOutcome>();

beforeAll(async () => {
  h = await makeHarness('zt-hostile-files-');
  files = await buildAll(h, CASES);
  const outcomes = await checkMany(h, CASES.map((c) => files.get(c.id)!));
  CASES.forEach((c, i) => checked.set(c.id, outcomes[i]!));
});

afterAll(async () => {
  await h?.close();
});

describe('special files are refused without being opened', () => {
  for (const c of CASES) {
    test(`${c.id}: ${c.what}`, async () => {
      expectRefused(checked.get(c.id)!, c.expectRules, `${c.id} (check)`);
      runs.set(c.id, await runRefused(h, files.get(c.id)!, c.id, c.expectRules));
    });
  }

  test('the refusal says what kind of file it was', () => {
    const kind = (id: string): unknown => checked.get(id)!.violations[0]?.actual;
    expect(kind('fifo')).toBe('fifo');
    expect(kind('directory')).toBe('directory');
    expect(kind('symlink-to-canary')).toBe('symlink');
    expect(kind('device-dev-zero')).toBe('character device');
  });

  test('nobody is left holding the FIFO open for reading', async () => {
    // With no reader, a non-blocking open for writing fails with ENXIO.
    await expect(open(files.get('fifo')!, constants.O_WRONLY | constants.O_NONBLOCK)).rejects.toMatchObject({ code: 'ENXIO' });
  });

  test('every refusal is in the signed audit log, and the canary was never read', async () => {
    const lines = await readAudit(h);
    for (const [id, o] of checked) expectAudited(lines, o, 'check', `${id} (check)`);
    for (const [id, o] of runs) expectAudited(lines, o, 'refusal', `${id} (run)`);
    expect(runs.size).toBe(CASES.length);
    await expectCanaryUntouched(h);
  });
});
