/**
 * Local-file read and SSRF through playlists and pseudo-protocols: HLS playlists (plain, renamed,
 * smuggled inside mp4, AVI and Matroska), concat scripts, and concat:/subfile:/file:/data:/http:
 * references, both as file contents and as the input argument itself. A canary secret and a live
 * listener on 127.0.0.1 are the targets; neither may ever be reached.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import path from 'node:path';
import { HOSTILE_CASES, protocolArguments, type HostileCase } from '../helpers/hostile-samples.js';
import { makeSample } from '../helpers/media.js';
import { buildAll, checkMany, expectAudited, expectCanaryUntouched, expectRefused, makeHarness, readAudit, runRefused, type FileOutcome, type Harness } from '../helpers/hostile-harness.js';

const CASES: readonly HostileCase[] = HOSTILE_CASES.filter((c) => ['playlist-ssrf', 'smuggled-playlist', 'pseudo-protocol'].includes(c.threat));

let h: Harness;
let files: Map<string, string>;
let checked: Map<string, FileOutcome>;
const runs = new Map<string, FileOutcome>();
let args: ReadonlyArray<{ id: string; arg: string }>;

beforeAll(async () => {
  h = await makeHarness('zt-hostile-playlists-');
  files = await buildAll(h, CASES);
  const media = await makeSample(h.samples, 'h264-aac.mp4');
  args = protocolArguments(h.canary, h.listener.port, media);
  const ids = CASES.map((c) => c.id);
  const outcomes = await checkMany(h, ids.map((id) => files.get(id)!));
  checked = new Map(ids.map((id, i) => [id, outcomes[i]!]));
});

afterAll(async () => {
  await h?.close();
});

describe('playlists and pseudo-protocols are refused', () => {
  for (const c of CASES) {
    test(`${c.id}: ${c.what}`, async () => {
      expectRefused(checked.get(c.id)!, c.expectRules, `${c.id} (check)`);
      runs.set(c.id, await runRefused(h, files.get(c.id)!, c.id, c.expectRules));
    });
  }

  test('pseudo-protocol URLs given as the input argument are refused (concat:, subfile:, file:, data:, http:)', async () => {
    const check = await checkMany(h, args.map((a) => a.arg));
    check.forEach((o, i) => expectRefused(o, ['input.exists'], `${args[i]!.id} (check)`));
    for (const a of args) runs.set(a.id, await runRefused(h, a.arg, a.id, ['input.exists']));
  });

  test('every refusal is in the signed audit log, and the canary and the listener were never reached', async () => {
    const lines = await readAudit(h);
    for (const [id, o] of checked) expectAudited(lines, o, 'check', `${id} (check)`);
    for (const [id, o] of runs) expectAudited(lines, o, 'refusal', `${id} (run)`);
    expect(runs.size).toBe(CASES.length + args.length);
    await expectCanaryUntouched(h);
  });

  test('the smuggled playlists are found where they hide', () => {
    const at = (id: string): string => JSON.stringify(checked.get(id)!.violations.find((v) => v.rule === 'input.embedded-playlist')?.actual ?? '');
    expect(at('hls-in-mp4-metadata')).toMatch(/#EXTM3U/);
    expect(at('hls-in-avi')).toMatch(/#EXTM3U/);
    expect(path.extname(files.get('hls-in-avi')!)).toBe('.avi');
  });
});
