/**
 * Decompression and resource bombs: image headers declaring 100000 x 100000 pixels, absurd
 * durations and bitrates claimed by headers, hundreds of streams, megabytes of metadata, absurd
 * frame and sample rates, data streams. Each is refused (exit 3) by `check` and by `run`, recorded, and leaves nothing at
 * the destination.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOSTILE_CASES, type HostileCase } from '../helpers/hostile-samples.js';
import { buildAll, checkAllCases, expectAudited, expectCanaryUntouched, expectRefused, makeHarness, policyFor, readAudit, runRefused, type FileOutcome, type Harness } from '../helpers/hostile-harness.js';

const CASES: readonly HostileCase[] = HOSTILE_CASES.filter((c) => ['resource-bomb'].includes(c.threat));

let h: Harness;
let files: Map<string, string>;
const checked = new Map<string, FileOutcome>();
const runs = new Map<string, FileOutcome>();

beforeAll(async () => {
  h = await makeHarness('zt-hostile-bombs-');
  files = await buildAll(h, CASES);
  for (const [id, o] of await checkAllCases(h, CASES, files)) checked.set(id, o);
});

afterAll(async () => {
  await h?.close();
});

describe('resource bombs are refused before anything decodes them', () => {
  for (const c of CASES) {
    test(`${c.id}: ${c.what}`, async () => {
      expectRefused(checked.get(c.id)!, c.expectRules, `${c.id} (check)`);
      runs.set(c.id, await runRefused(h, files.get(c.id)!, c.id, c.expectRules, policyFor(h, c)));
    });
  }

  test('a header-declared size is refused from the header itself, whatever the decoder reports', () => {
    const v = checked.get('png-huge-dimensions')!.violations;
    expect(v.find((x) => x.rule === 'input.maxWidth')?.actual).toBe(100_000);
    expect(v.find((x) => x.rule === 'input.maxHeight')?.actual).toBe(100_000);
  });

  test('the stream limit holds inside the demuxer (max_streams), not only in the verdict', () => {
    const v = checked.get('mkv-300-streams')!.violations.find((x) => x.rule === 'input.maxStreams');
    expect(v?.limit).toBe(16);
  });

  test('every refusal is in the signed audit log, and the canary and the listener were never reached', async () => {
    const lines = await readAudit(h);
    for (const [id, o] of checked) expectAudited(lines, o, 'check', `${id} (check)`);
    for (const [id, o] of runs) expectAudited(lines, o, 'refusal', `${id} (run)`);
    expect(runs.size).toBe(CASES.length);
    await expectCanaryUntouched(h);
  });
});
