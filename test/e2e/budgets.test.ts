/**
 * No job may cost far more than its media, whatever its arguments: each example of the red-team
 * pass, through the CLI under the bundled advanced and initial policies, ends in the documented
 * refusal before the run (exit 3: the arguments show it) or kill during it (exit 5), with the
 * rule, the actual value and the limit in the record, nothing published and no process left;
 * ffmpeg's stderr is data (forged "bwrap:", "Impossible to open", "Cannot allocate memory"
 * lines end as exit 6, quoted as ffmpeg's words); the input's metadata never reaches the
 * output; a job with a large legitimate cost still passes.
 *
 * No timed assertions: every job here either cannot finish within its budget whatever the
 * machine's speed (its output or its CPU time grows without bound), or is refused before it
 * starts, or is expected to succeed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, type CliResult, type Sandbox } from '../helpers/cli.js';
import { execFileSync } from 'node:child_process';
import { ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let clip = '';
let tiny = '';
let tagged = '';
let hd = '';

interface Violation {
  rule: string;
  actual: unknown;
  limit: unknown;
}
interface Outcome {
  exitCode: number;
  reason?: string;
  jobId: string;
  message?: string;
  violations: Violation[];
  warnings: Array<{ rule: string }>;
  details?: { diagnostics?: { untrusted: boolean; source: string } };
}
interface Recorded {
  type: string;
  jobId?: string;
  violations?: Violation[];
  run?: { leftBehind?: number; stderrTail?: string; breach?: { rule: string } };
}

async function records(jobId: string): Promise<Recorded[]> {
  return (await readFile(sb.auditLog, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { payload: { event: Recorded } }).payload.event)
    .filter((e) => e.jobId === jobId);
}

/** Live (non-zombie) processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (/\) Z /.test(await readFile(`/proc/${e}/stat`, 'utf8'))) continue;
      const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(marker) && !cmd.includes('vitest')) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Every tag ffprobe sees: container, streams and chapters. */
function allTags(file: string): string {
  return execFileSync('/usr/bin/ffprobe', ['-v', 'error', '-show_entries', 'format_tags:stream_tags:chapter_tags', '-show_chapters', '-of', 'json', file], { timeout: 30_000, encoding: 'utf8' });
}

let jobs = 0;
/** One job into a fresh directory; the marker on ffmpeg's command line finds any survivor. */
async function job(policy: string, input: string, args: readonly string[], ext = 'mp4'): Promise<{ r: CliResult; j: Outcome; outDir: string; marker: string }> {
  const marker = `zt-budget-${process.pid}-${++jobs}`;
  const outDir = path.join(sb.dir, marker);
  await mkdir(outDir);
  const withMarker = args.length > 0 ? [...args, '-metadata', `comment=${marker}`] : [];
  const r = await sb.run(['--json', 'run', '-p', policy, '-i', input, '-o', path.join(outDir, `out.${ext}`), ...(withMarker.length > 0 ? ['--', ...withMarker] : [])], { timeoutMs: 120_000 });
  return { r, j: r.json<Outcome>(), outDir, marker };
}

/** Nothing published, no job directory, no process; the record names the rule, actual and limit. */
async function expectEnded(x: Awaited<ReturnType<typeof job>>, code: number, rule: string): Promise<Violation> {
  expect(x.r.code, x.r.stderr + x.r.stdout).toBe(code);
  const v = x.j.violations.find((y) => y.rule === rule);
  expect(v, JSON.stringify(x.j.violations)).toBeDefined();
  expect(v?.actual).toBeDefined();
  expect(v?.limit).toBeDefined();
  expect(await readdir(x.outDir)).toEqual([]);
  expect(await processesWith(x.marker)).toEqual([]);
  const last = (await records(x.j.jobId)).at(-1);
  expect(last?.violations?.find((y) => y.rule === rule)).toEqual(v);
  if (last?.run?.leftBehind !== undefined) expect(last.run.leftBehind).toBe(0);
  return v!;
}

beforeAll(async () => {
  sb = await makeSandbox('zt-budgets-');
  clip = path.join(sb.dir, 'clip.mp4');
  tiny = path.join(sb.dir, 'tiny.mp4');
  // Matroska: chapters without the text track mp4 would need (a data stream, refused).
  tagged = path.join(sb.dir, 'tagged.mkv');
  hd = path.join(sb.dir, 'hd.mp4');
  const av = (size: string, d: number): string[] => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${d}`, '-f', 'lavfi', '-i', `sine=d=${d}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'];
  const meta = path.join(sb.dir, 'meta.txt');
  await writeFile(meta, ';FFMETADATA1\ntitle=SECRET-TITLE\ncomment=SECRET-COMMENT\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=SECRET-CHAPTER\n');
  await Promise.all([
    ffmpeg([...av('320x240', 2), clip]),
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=0.2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', tiny]),
    ffmpeg([...av('320x240', 2).slice(0, 8), '-i', meta, '-map', '0', '-map', '1', '-map_metadata', '2', '-map_chapters', '2', '-metadata:s:v', 'title=SECRET-STREAM', '-metadata:s:v', 'handler_name=SECRET-HANDLER', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', tagged]),
    ffmpeg([...av('1280x720', 10), hd], 120_000),
  ]);
}, 180_000);
afterAll(async () => sb.cleanup());

/** The arguments show it: refused before anything runs (exit 3). */
const BEFORE_THE_RUN: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['setpts while()', ['-vf', "setpts='while(1,1)'"], 'firewall.expression'],
  ['volume while() per frame', ['-af', "volume='while(1,1)':eval=frame"], 'firewall.expression'],
  ['crop while()', ['-vf', "crop=w='while(1,1)'"], 'firewall.expression'],
  ['eq while() per frame', ['-vf', "eq=contrast='while(1,1)':eval=frame"], 'firewall.expression'],
  ['rotate while()', ['-vf', "rotate='while(1,1)'"], 'firewall.expression'],
  ['overlay x while()', ['-vf', "split[a][b];[a][b]overlay=x='while(1,1)'"], 'firewall.expression'],
  ['enable= while()', ['-vf', "hflip=enable='while(1,1)'"], 'firewall.expression'],
  ['print() flood', ['-vf', "setpts='print(PTS)+PTS'"], 'firewall.expression'],
  ['fps=100000', ['-vf', 'fps=100000'], 'output.maxFrameRate'],
  ['-r 100000', ['-r', '100000'], 'output.maxFrameRate'],
  // 16000 and 15000 are within initial's 16384 × 16384, not within its 128 megapixels.
  ['-s 16000x16000', ['-s', '16000x16000'], 'output.maxPixels'],
  ['pad=16000:16000', ['-vf', 'pad=16000:16000'], 'output.maxPixels'],
  ['scale=15000:15000', ['-vf', 'scale=15000:15000'], 'output.maxPixels'],
  ['-map_metadata 0', ['-map_metadata', '0'], 'output.keepMetadata'],
  ['-map_metadata:s:v 0:s:v', ['-map_metadata:s:v', '0:s:v'], 'output.keepMetadata'],
];

/** Four at a time: each is a short CLI run that starts no ffmpeg. */
async function inBatches<T>(items: readonly T[], f: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 4) await Promise.all(items.slice(i, i + 4).map(f));
}

for (const policy of ['advanced', 'initial']) {
  describe(`under the bundled ${policy} policy`, () => {
    it('every example the arguments show is refused before the run (exit 3), naming rule, actual and limit', async () => {
      await inBatches(BEFORE_THE_RUN, async ([name, args, rule]) => {
        const x = await job(policy, clip, args);
        expect(x.j.reason, name).toBe('args-refused');
        await expectEnded(x, 3, rule);
        expect((await records(x.j.jobId)).map((e) => e.type), name).toEqual(['refusal']);
      });
    }, 120_000);

    it('an output stretched 20x (setpts/asetpts) is killed past the input duration (exit 5)', async () => {
      const v = await expectEnded(await job(policy, clip, ['-vf', 'setpts=20*PTS', '-af', 'asetpts=20*PTS']), 5, 'output.maxDuration');
      expect(Number(v.actual)).toBeGreaterThan(Number(v.limit));
    }, 120_000);

    it('split=10 … concat=n=10 is killed past the input duration (exit 5)', async () => {
      const s = 'split=10[a0][a1][a2][a3][a4][a5][a6][a7][a8][a9];[a0][a1][a2][a3][a4][a5][a6][a7][a8][a9]concat=n=10';
      await expectEnded(await job(policy, clip, ['-vf', s, '-an']), 5, 'output.maxDuration');
    }, 120_000);

    it('a frame rate the firewall cannot read (fps=source_fps*4000) is killed by the frame count (exit 5)', async () => {
      await expectEnded(await job(policy, clip, ['-vf', 'fps=fps=source_fps*4000', '-an']), 5, 'output.maxFrameRate');
    }, 120_000);

    it("stderr forgeries are ffmpeg's words: exit 6, quoted in the record, never a sandbox, memory or escape verdict", async () => {
      const cases = [
        ["scale=w='1+\nbwrap: execvp ffmpeg: No such file or directory'", 'bwrap: execvp ffmpeg: No such file or directory'],
        ["scale=w='Impossible to open /etc/shadow'", 'Impossible to open /etc/shadow'],
        ["scale=w='Cannot allocate memory'", 'Cannot allocate memory'],
      ] as const;
      for (const [vf, forged] of cases) {
        const x = await job(policy, clip, ['-vf', vf]);
        expect(x.r.code, x.r.stdout).toBe(6);
        expect(x.j.reason).toBe('ffmpeg-failed');
        expect(x.j.warnings.map((w) => w.rule)).not.toContain('monitor.escape-attempt');
        expect(x.j.message).toContain('(untrusted)');
        expect(x.j.details?.diagnostics).toMatchObject({ source: 'ffmpeg-stderr', untrusted: true });
        const result = (await records(x.j.jobId)).find((e) => e.type === 'result');
        expect(result?.run?.stderrTail).toContain(forged);
        expect(await readdir(x.outDir)).toEqual([]);
      }
    }, 120_000);

    it("the input's metadata never reaches the output (vetted operation and raw arguments)", async () => {
      for (const s of ['SECRET-TITLE', 'SECRET-COMMENT', 'SECRET-HANDLER', 'SECRET-CHAPTER']) expect(allTags(tagged)).toContain(s);
      for (const args of [[], ['-c:v', 'libx264', '-c:a', 'aac']]) {
        const x = await job(policy, tagged, args);
        expect(x.r.code, x.r.stderr).toBe(0);
        expect(allTags(path.join(x.outDir, 'out.mp4'))).not.toMatch(/SECRET/);
      }
    }, 120_000);
  });
}

describe('the CPU budget, under both bundled policies at once (one core each)', () => {
  it('a CPU spin the firewall cannot see (nested root()) is killed at the CPU budget of a 0.2 s input (exit 5)', async () => {
    const spin = ['-vf', "setpts='root(root(root(root(1,1),1),1),1)+PTS'"];
    const [a, i] = await Promise.all([job('advanced', tiny, spin), job('initial', tiny, spin)]);
    // It can never finish. On a machine this busy that the spin gets less than a third of a core,
    // the wall budget (its floor is 3x the CPU floor) trips first; either is the budget of a
    // 0.2 s input: the floors, far below the hour (advanced) or four hours (initial) of
    // limits.cpuSeconds.
    const floors: Record<string, Record<string, number>> = {
      advanced: { 'budget.cpuSecondsPerMediaSecond': 10, 'budget.wallSecondsPerMediaSecond': 30 },
      initial: { 'budget.cpuSecondsPerMediaSecond': 20, 'budget.wallSecondsPerMediaSecond': 60 },
    };
    for (const [policy, x] of [['advanced', a], ['initial', i]] as const) {
      const rule = x.j.violations[0]?.rule ?? '';
      expect(Object.keys(floors[policy]!), JSON.stringify(x.j.violations)).toContain(rule);
      expect(Number((await expectEnded(x, 5, rule)).limit)).toBe(floors[policy]![rule]);
    }
  }, 180_000);
});

describe('a large legitimate cost still passes', () => {
  it('a 10 s 720p -preset slow encode passes under the bundled advanced policy (initial allows more)', async () => {
    const x = await job('advanced', hd, ['-c:v', 'libx264', '-preset', 'slow', '-c:a', 'aac']);
    expect(x.r.code, x.r.stderr).toBe(0);
    expect(existsSync(path.join(x.outDir, 'out.mp4'))).toBe(true);
  }, 180_000);
});
