/**
 * Live recordings: a WebM written to a pipe (as a browser's MediaRecorder or a streaming muxer
 * writes it) has unknown-size elements and no stated duration. Its duration is measured from
 * its packets in the sandbox, so the budgets per second of media and the output's duration
 * bound apply to what it really holds: it transcodes under the bundled advanced policy, and a
 * recording longer than the policy allows is refused on its measured duration.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { measuredSeconds } from '../../src/job/stages/measure-duration.js';

let sb: Sandbox;
let live: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-live-');
  live = path.join(sb.dir, 'recording.webm');
  // Written to a pipe: no seek back, so no Duration, no Cues, unknown sizes.
  const bytes = execFileSync('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=3', '-f', 'lavfi', '-i', 'sine=duration=3', '-c:v', 'libvpx', '-deadline', 'realtime', '-c:a', 'libopus', '-shortest', '-f', 'webm', 'pipe:1'], { timeout: 60_000, maxBuffer: 1 << 26 });
  await writeFile(live, bytes);
});
afterAll(async () => sb.cleanup());

describe('a live recording without a stated duration', () => {
  it('the progress report parser reads the media seconds of the last block', () => {
    expect(measuredSeconds('frame=10\nout_time_us=1000000\nprogress=continue\nout_time_us=2940000\nprogress=end\n')).toBeCloseTo(2.94, 2);
    expect(measuredSeconds('out_time_us=N/A\nprogress=end')).toBeUndefined();
  });

  it('is measured from its packets and transcoded under the bundled advanced policy', async () => {
    const out = path.join(sb.dir, 'recording.mp4');
    const r = await sb.run(['--json', 'run', '-i', live, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ input: { durationMeasured?: number }; output: { probe: { duration: number } } }>();
    expect(j.input.durationMeasured).toBeGreaterThan(2.5);
    expect(j.output.probe.duration).toBeGreaterThan(2.5);
    expect(existsSync(out)).toBe(true);
  });

  it('is refused on its measured duration when it is longer than the policy allows', async () => {
    const policy = path.join(sb.dir, 'short.yaml');
    await writeFile(policy, 'apiVersion: zt-ffmpeg/v1\nextends: advanced\nstage: advanced\nmode: enforce\ninput:\n  maxDurationSeconds: 2\n');
    const out = path.join(sb.dir, 'too-long.mp4');
    const r = await sb.run(['--json', 'run', '-p', policy, '-i', live, '-o', out]);
    expect(r.code, r.stderr).toBe(3);
    const v = r.json<{ violations: Array<{ rule: string; actual: number; limit: number; message: string }> }>().violations;
    expect(v).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'input.maxDurationSeconds', limit: 2, message: expect.stringMatching(/measured from its packets/) })]));
    expect(existsSync(out)).toBe(false);
  });
});
