/**
 * The benchmark's pure helpers (bench/lib/stats.mjs, bench/lib/args.mjs): the figures `npm run
 * bench` prints are only as right as these.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM JavaScript without type declarations
import * as stats from '../../bench/lib/stats.mjs';
// @ts-expect-error plain ESM JavaScript without type declarations
import * as args from '../../bench/lib/args.mjs';

type Fn = (...a: unknown[]) => unknown;
const s = stats as Record<string, Fn>;
const a = args as Record<string, Fn> & { CASES: string[] };

describe('median / summarize', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(s.median!([3, 1, 2])).toBe(2);
    expect(s.median!([4, 1, 3, 2])).toBe(2.5);
    expect(s.median!([7])).toBe(7);
  });
  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    s.median!(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
  it('refuses an empty sample and non-finite values', () => {
    expect(() => s.median!([])).toThrow(/non-empty/);
    expect(() => s.median!([1, Number.NaN])).toThrow(/finite/);
  });
  it('summarizes n, median, min, max', () => {
    expect(s.summarize!([5, 1, 9, 3])).toEqual({ n: 4, median: 4, min: 1, max: 9 });
  });
});

describe('pair ratios', () => {
  it('divides B by A pair by pair and takes the median of the ratios, not the ratio of medians', () => {
    const A = [100, 200, 400];
    const B = [110, 260, 420];
    expect(s.pairRatios!(A, B)).toEqual([1.1, 1.3, 1.05]);
    expect(s.ratioMedian!(A, B)).toBe(1.1);
    expect(s.median!(B) / s.median!(A)).toBe(1.3); // the figure a ratio of medians would have given
  });
  it('uses only complete pairs', () => {
    expect(s.pairRatios!([1, 2, 3], [2, 4])).toEqual([2, 2]);
    expect(s.ratioMedian!([], [])).toBeUndefined();
  });
  it('refuses a zero baseline', () => {
    expect(() => s.pairRatios!([0], [1])).toThrow(/> 0/);
  });
});

describe('targets', () => {
  it('max targets pass at or below, min targets at or above', () => {
    expect(s.meetsTarget!(1.06, 1.06)).toBe(true);
    expect(s.meetsTarget!(1.07, 1.06)).toBe(false);
    expect(s.meetsTarget!(25_000, 20_000, 'min')).toBe(true);
    expect(s.meetsTarget!(19_999, 20_000, 'min')).toBe(false);
  });
  it('has no verdict without a target or a value', () => {
    expect(s.meetsTarget!(1.5, undefined)).toBeUndefined();
    expect(s.meetsTarget!(undefined, 1.5)).toBeUndefined();
    expect(s.meetsTarget!(Number.NaN, 1.5)).toBeUndefined();
  });
});

describe('formatting', () => {
  it('formats seconds, ratios and MiB, with a dash for no value', () => {
    expect(s.fmtSeconds!(231.4)).toBe('0.231');
    expect(s.fmtSeconds!(36_012)).toBe('36.01');
    expect(s.fmtSeconds!(123_456)).toBe('123.5');
    expect(s.fmtSeconds!(undefined)).toBe('—');
    expect(s.fmtRatio!(1.0134)).toBe('1.013×');
    expect(s.fmtMiB!(150 * 1024 * 1024)).toBe('150.0 MiB');
  });
  it('renders aligned columns', () => {
    const t = s.renderTable!(
      [{ key: 'k', title: 'case' }, { key: 'v', title: 'v', align: 'right' }],
      [{ k: 'a', v: '1.5' }, { k: 'longer', v: '10' }],
    ) as string;
    expect(t.split('\n')).toEqual(['case      v', '------  ---', 'a       1.5', 'longer   10']);
  });
});

describe('shell quoting and sandbox argv', () => {
  it('quotes words for bash so they come back unchanged', () => {
    expect(s.shellQuote!('-c:v')).toBe('-c:v');
    expect(s.shellQuote!("scale=-2:'min(720,ih)'")).toBe(`'scale=-2:'\\''min(720,ih)'\\'''`);
    expect(s.shellQuote!('0:v:0?')).toBe(`'0:v:0?'`);
    expect(s.shellQuote!('+faststart')).toBe('+faststart');
  });
  it('substitutes the real input and output for /in/… and the output descriptor', () => {
    const argv = ['/usr/bin/ffmpeg', '-y', '-i', '/in/input.mp4', '-c', 'copy', '/proc/self/fd/4'];
    expect(s.substituteSandboxPaths!(argv, '/data/a.mp4', '/tmp/o.mp4')).toEqual(['/usr/bin/ffmpeg', '-y', '-i', '/data/a.mp4', '-c', 'copy', '/tmp/o.mp4']);
  });
  it('refuses an argv without exactly one input and one output path', () => {
    expect(() => s.substituteSandboxPaths!(['/usr/bin/ffmpeg', '-i', '/in/a', '/in/b', '/job/o'], 'x', 'y')).toThrow(/exactly one/);
    expect(() => s.substituteSandboxPaths!(['/usr/bin/ffmpeg', '-i', '/in/a'], 'x', 'y')).toThrow(/exactly one/);
  });
  it('reads the environment bwrap gives the sandbox from --setenv pairs', () => {
    const argv = ['/usr/bin/prlimit', '--as=1', '--', '/usr/bin/bwrap', '--clearenv', '--setenv', 'PATH', '/usr/bin', '--setenv', 'LC_ALL', 'C', '--seccomp', '4', '--', '/usr/bin/ffmpeg'];
    expect(s.sandboxEnv!(argv)).toEqual({ PATH: '/usr/bin', LC_ALL: 'C' });
  });
  it('parses VmHWM and VmRSS from /proc/<pid>/status', () => {
    const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   90000 kB\nVmRSS:\t   80000 kB\n';
    expect(s.parseProcStatusMemory!(text)).toEqual({ hwm: 90000 * 1024, rss: 80000 * 1024 });
    expect(s.parseProcStatusMemory!('State:\tZ (zombie)\n')).toEqual({ hwm: undefined, rss: undefined });
  });
});

describe('bench flags', () => {
  it('has defaults: 5 runs, build first, every case', () => {
    const o = a.parseArgs!([]) as { runs: number; build: boolean; json: boolean };
    expect(o).toMatchObject({ runs: 5, build: true, json: false, quick: false });
    for (const c of a.CASES) expect(a.wanted!(o, c)).toBe(true);
  });
  it('parses --runs, --json, --quick, --no-build and --only', () => {
    const o = a.parseArgs!(['--runs', '3', '--json', '--quick', '--no-build', '--only=check,version']) as Record<string, unknown>;
    expect(o).toMatchObject({ runs: 3, json: true, quick: true, build: false });
    expect(a.wanted!(o, 'check')).toBe(true);
    expect(a.wanted!(o, '1s-320x240')).toBe(false);
  });
  it('--quick drops the 60 s 1080p case unless --only names it', () => {
    expect(a.wanted!(a.parseArgs!(['--quick']), '60s-1080p')).toBe(false);
    expect(a.wanted!(a.parseArgs!(['--quick']), '10s-720p')).toBe(true);
    expect(a.wanted!(a.parseArgs!(['--quick', '--only', '60s-1080p']), '60s-1080p')).toBe(true);
  });
  it('refuses bad values with a message naming what was expected', () => {
    expect(() => a.parseArgs!(['--runs', '0'])).toThrow(/whole number from 1 to 1000, found "0"/);
    expect(() => a.parseArgs!(['--runs'])).toThrow(/expects a value/);
    expect(() => a.parseArgs!(['--only', 'nope'])).toThrow(/unknown case nope; known: /);
    expect(() => a.parseArgs!(['--fast'])).toThrow(/unknown option --fast/);
  });
});
