/**
 * Format confusion, polyglots and malformed files: a PNG or JPEG with a video appended, a WAV
 * named .mp4, bytes whose magic and demuxer disagree, truncated and corrupted containers, and an
 * empty file. Each is refused (exit 3) by `check` and by `run`, recorded, and leaves nothing at
 * the destination.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOSTILE_CASES, type HostileCase } from '../helpers/hostile-samples.js';
import { buildAll, checkAllCases, expectAudited, expectCanaryUntouched, expectRefused, makeHarness, policyFor, readAudit, runRefused, type FileOutcome, type Harness } from '../helpers/hostile-harness.js';

const CASES: readonly HostileCase[] = HOSTILE_CASES.filter((c) => ['polyglot', 'format-confusion', 'malformed'].includes(c.threat));

let h: Harness;
let files: Map<string, string>;
const checked = new Map<string, FileOutcome>();
const runs = new Map<string, FileOutcome>();

beforeAll(async () => {
  h = await makeHarness('zt-hostile-formats-');
  files = await buildAll(h, CASES);
  for (const [id, o] of await checkAllCases(h, CASES, files)) checked.set(id, o);
});

afterAll(async () => {
  await h?.close();
});

describe('polyglots, disguised and malformed files are refused', () => {
  for (const c of CASES) {
    test(`${c.id}: ${c.what}`, async () => {
      expectRefused(checked.get(c.id)!, c.expectRules, `${c.id} (check)`);
      runs.set(c.id, await runRefused(h, files.get(c.id)!, c.id, c.expectRules, policyFor(h, c)));
    });
  }

  test('a polyglot names the offset where the second file starts', () => {
    const v = checked.get('polyglot-png-mp4')!.violations.find((x) => x.rule === 'input.structure');
    expect(String(v?.actual)).toMatch(/^trailing-data at byte \d+$/);
  });

  test('every refusal is in the signed audit log, and the canary and the listener were never reached', async () => {
    const lines = await readAudit(h);
    for (const [id, o] of checked) expectAudited(lines, o, 'check', `${id} (check)`);
    for (const [id, o] of runs) expectAudited(lines, o, 'refusal', `${id} (run)`);
    expect(runs.size).toBe(CASES.length);
    await expectCanaryUntouched(h);
  });
});
